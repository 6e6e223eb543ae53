import type { ReactNode } from "react";
import { Body, Container, Head, Hr, Html, Preview, Section, Text } from "@react-email/components";
import { env } from "#app/utils/env.server";

export const PRODUCT_NAME = "AI Wallet";

export type EmailLayoutProps = {
  /** Short summary shown by mail clients next to the subject (not part of the plain-text body). */
  preview: string;
  /** Base URL of the app shown in the footer; defaults to APP_URL. */
  appUrl?: string;
  children: ReactNode;
};

export function EmailLayout({ preview, appUrl = env.APP_URL, children }: EmailLayoutProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{preview}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Section>
            <Text style={styles.brand}>{PRODUCT_NAME}</Text>
          </Section>
          <Section>{children}</Section>
          <Hr style={styles.hr} />
          <Text
            style={styles.footer}
          >{`You got this email because of your account at ${appUrl}. We never ask for your password.`}</Text>
        </Container>
      </Body>
    </Html>
  );
}

/** Shared inline styles (mail clients ignore most <style> blocks). */
export const styles = {
  body: {
    backgroundColor: "#f4f4f5",
    fontFamily: '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif',
    margin: 0,
    padding: "24px 0",
  },
  container: {
    backgroundColor: "#ffffff",
    borderRadius: "8px",
    margin: "0 auto",
    maxWidth: "560px",
    padding: "32px",
  },
  brand: { color: "#18181b", fontSize: "18px", fontWeight: 700, margin: "0 0 16px" },
  heading: { color: "#18181b", fontSize: "22px", fontWeight: 700, margin: "0 0 16px" },
  text: { color: "#3f3f46", fontSize: "15px", lineHeight: "24px", margin: "0 0 16px" },
  muted: { color: "#71717a", fontSize: "13px", lineHeight: "20px", margin: "0 0 12px" },
  code: {
    backgroundColor: "#f4f4f5",
    borderRadius: "6px",
    color: "#18181b",
    fontFamily: '"SFMono-Regular", Consolas, "Liberation Mono", Menlo, monospace',
    fontSize: "32px",
    fontWeight: 700,
    letterSpacing: "6px",
    margin: "0 0 16px",
    padding: "12px 16px",
    textAlign: "center" as const,
  },
  button: {
    backgroundColor: "#18181b",
    borderRadius: "6px",
    color: "#ffffff",
    display: "inline-block",
    fontSize: "15px",
    fontWeight: 600,
    padding: "12px 20px",
    textDecoration: "none",
  },
  buttonSection: { margin: "8px 0 24px" },
  hr: { borderColor: "#e4e4e7", margin: "24px 0 16px" },
  footer: { color: "#a1a1aa", fontSize: "12px", lineHeight: "18px", margin: 0 },
};
