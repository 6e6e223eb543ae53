import { Button, Heading, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type PasswordChangedEmailProps = {
  displayName: string;
  /** Human-readable time of the change, e.g. "12 March 2025, 14:05 UTC". */
  when: string;
  /** Optional absolute URL of the "forgot password" page, shown for the "this wasn't me" case. */
  resetUrl?: string;
  appUrl?: string;
};

export function subject(_props?: PasswordChangedEmailProps): string {
  return `Your ${PRODUCT_NAME} password was changed`;
}

export function PasswordChangedEmail({ displayName, when, resetUrl, appUrl }: PasswordChangedEmailProps) {
  return (
    <EmailLayout preview={`Your ${PRODUCT_NAME} password was changed`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your password was changed
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`The password of your ${PRODUCT_NAME} account was changed on ${when}. For your safety, all other sessions were signed out.`}</Text>
      <Text style={styles.text}>If you made this change, there is nothing else to do.</Text>
      <Text style={styles.text}>
        If you did not make this change, reset your password right away and contact our support team.
      </Text>
      {resetUrl ? (
        <Section style={styles.buttonSection}>
          <Button href={resetUrl} style={styles.button}>
            Reset my password
          </Button>
        </Section>
      ) : null}
    </EmailLayout>
  );
}

PasswordChangedEmail.PreviewProps = {
  displayName: "Jane",
  when: "12 March 2025, 14:05 UTC",
  resetUrl: "http://localhost:3000/forgot-password",
} satisfies PasswordChangedEmailProps;

export default PasswordChangedEmail;
