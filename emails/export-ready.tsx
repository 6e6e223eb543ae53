import { Button, Heading, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type ExportReadyEmailProps = {
  displayName: string;
  /** Absolute one-time download URL (carries the token: never log it). */
  link: string;
  /** Human-readable expiry, e.g. "Mon, 30 Nov 2026 14:05:00 GMT". */
  expiresAt: string;
  /** How many days the link works. */
  days: number;
  appUrl?: string;
};

export function subject(_props?: ExportReadyEmailProps): string {
  return `Your ${PRODUCT_NAME} data export is ready`;
}

export function ExportReadyEmail({ displayName, link, expiresAt, days, appUrl }: ExportReadyEmailProps) {
  return (
    <EmailLayout preview="Your data export is ready to download" appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your data export is ready
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text style={styles.text}>
        The archive of your data you asked for is ready: your profile, sessions, generations, conversations, top-ups,
        wallet statement and every file we keep for you, in one ZIP file.
      </Text>
      <Section style={styles.buttonSection}>
        <Button href={link} style={styles.button}>
          Download my data
        </Button>
      </Section>
      <Text
        style={styles.text}
      >{`The link works once, while you are signed in, for ${days} days (until ${expiresAt}). After that, ask for a new export from Settings → Privacy & data.`}</Text>
      <Text style={styles.muted}>
        If you did not ask for this, sign in, change your password and sign out other sessions.
      </Text>
    </EmailLayout>
  );
}

ExportReadyEmail.PreviewProps = {
  displayName: "Jane",
  link: "http://localhost:3000/exports/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  expiresAt: "Mon, 30 Nov 2026 14:05:00 GMT",
  days: 7,
} satisfies ExportReadyEmailProps;

export default ExportReadyEmail;
