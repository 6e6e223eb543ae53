import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type PasswordResetEmailProps = {
  displayName: string;
  /** Absolute, single-use URL of the reset page. */
  link: string;
  expiresInMinutes: number;
  appUrl?: string;
};

export function subject(_props?: PasswordResetEmailProps): string {
  return `Reset your ${PRODUCT_NAME} password`;
}

export function PasswordResetEmail({ displayName, link, expiresInMinutes, appUrl }: PasswordResetEmailProps) {
  return (
    <EmailLayout preview={`Reset your ${PRODUCT_NAME} password`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Reset your password
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`Someone (hopefully you) asked to reset the password of your ${PRODUCT_NAME} account. Use the button below to choose a new one.`}</Text>
      <Section style={styles.buttonSection}>
        <Button href={link} style={styles.button}>
          Choose a new password
        </Button>
      </Section>
      <Text style={styles.muted}>
        If the button does not work, copy this link into your browser: <Link href={link}>{link}</Link>
      </Text>
      <Text
        style={styles.muted}
      >{`The link works once and expires in ${expiresInMinutes} minutes. If you did not ask for a reset, you can ignore this email; your password will not change.`}</Text>
    </EmailLayout>
  );
}

PasswordResetEmail.PreviewProps = {
  displayName: "Jane",
  link: "http://localhost:3000/reset-password?token=example",
  expiresInMinutes: 30,
} satisfies PasswordResetEmailProps;

export default PasswordResetEmail;
