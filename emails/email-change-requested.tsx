import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type EmailChangeRequestedEmailProps = {
  displayName: string;
  /** The address the change would move to, already masked with `maskEmail` (e.g. "j***@example.com"). */
  newEmail: string;
  /** Absolute URL of the page that cancels this change (a button there does it; opening it changes nothing). */
  cancelLink: string;
  expiresInMinutes: number;
  appUrl?: string;
};

export function subject(_props?: EmailChangeRequestedEmailProps): string {
  return `Someone asked to change your ${PRODUCT_NAME} email address`;
}

// Sent to the CURRENT address when a change is requested, so a stranger who has the password cannot
// move the account away without its owner hearing about it first.
export function EmailChangeRequestedEmail({
  displayName,
  newEmail,
  cancelLink,
  expiresInMinutes,
  appUrl,
}: EmailChangeRequestedEmailProps) {
  return (
    <EmailLayout preview={`A change of your ${PRODUCT_NAME} email to ${newEmail} was requested`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Was this you?
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`Someone signed in to your ${PRODUCT_NAME} account asked to change its email address to ${newEmail}. Nothing changes until the new address is confirmed from your account.`}</Text>
      <Text style={styles.text}>If this was not you, cancel the change:</Text>
      <Section style={styles.buttonSection}>
        <Button href={cancelLink} style={styles.button}>
          Cancel this change
        </Button>
      </Section>
      <Text style={styles.muted}>
        If the button does not work, copy this link into your browser: <Link href={cancelLink}>{cancelLink}</Link>
      </Text>
      <Text
        style={styles.muted}
      >{`The request expires in ${expiresInMinutes} minutes. If it was not you, also change your password: whoever asked knows it.`}</Text>
    </EmailLayout>
  );
}

EmailChangeRequestedEmail.PreviewProps = {
  displayName: "Jane",
  newEmail: "j***@example.com",
  cancelLink: "http://localhost:3000/cancel-email-change?token=example",
  expiresInMinutes: 15,
} satisfies EmailChangeRequestedEmailProps;

export default EmailChangeRequestedEmail;
