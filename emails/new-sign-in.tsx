import { Button, Heading, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type NewSignInEmailProps = {
  displayName: string;
  /** Human-readable time of the sign-in, e.g. "12 March 2025, 14:05 UTC". */
  when: string;
  /** Short device description, e.g. "Firefox on Windows". */
  device: string;
  ip: string;
  /** Absolute URL of the security settings page (sessions list). */
  settingsUrl: string;
  appUrl?: string;
};

export function subject(_props?: NewSignInEmailProps): string {
  return `New sign-in to your ${PRODUCT_NAME} account`;
}

export function NewSignInEmail({ displayName, when, device, ip, settingsUrl, appUrl }: NewSignInEmailProps) {
  return (
    <EmailLayout preview={`New sign-in to your ${PRODUCT_NAME} account`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        New sign-in to your account
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text style={styles.text}>{`We noticed a sign-in to your ${PRODUCT_NAME} account from a new device:`}</Text>
      <Text style={styles.text}>
        {`When: ${when}`}
        <br />
        {`Device: ${device}`}
        <br />
        {`IP address: ${ip}`}
      </Text>
      <Text style={styles.text}>If this was you, there is nothing else to do.</Text>
      <Text style={styles.text}>
        If this was not you, sign out that session and change your password in your security settings:
      </Text>
      <Section style={styles.buttonSection}>
        <Button href={settingsUrl} style={styles.button}>
          Review security settings
        </Button>
      </Section>
    </EmailLayout>
  );
}

NewSignInEmail.PreviewProps = {
  displayName: "Jane",
  when: "12 March 2025, 14:05 UTC",
  device: "Firefox on Windows",
  ip: "203.0.113.7",
  settingsUrl: "http://localhost:3000/settings/security",
} satisfies NewSignInEmailProps;

export default NewSignInEmail;
