import { Heading, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type EmailChangedNoticeEmailProps = {
  displayName: string;
  /** The new address, already masked with `maskEmail` (e.g. "j***@example.com"). */
  newEmail: string;
  /** Human-readable time of the change, e.g. "12 March 2025, 14:05 UTC". */
  when: string;
  appUrl?: string;
};

export function subject(_props?: EmailChangedNoticeEmailProps): string {
  return `Your ${PRODUCT_NAME} email address was changed`;
}

export function EmailChangedNoticeEmail({ displayName, newEmail, when, appUrl }: EmailChangedNoticeEmailProps) {
  return (
    <EmailLayout preview={`Your ${PRODUCT_NAME} email address was changed`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your email address was changed
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`On ${when}, the email address of your ${PRODUCT_NAME} account was changed to ${newEmail}. We will send account emails to the new address from now on.`}</Text>
      <Text style={styles.text}>If you made this change, there is nothing else to do.</Text>
      <Text style={styles.text}>
        If you did not make this change, someone else may have access to your account. Please contact our support team
        right away so we can help you secure it.
      </Text>
    </EmailLayout>
  );
}

EmailChangedNoticeEmail.PreviewProps = {
  displayName: "Jane",
  newEmail: "j***@example.com",
  when: "12 March 2025, 14:05 UTC",
} satisfies EmailChangedNoticeEmailProps;

export default EmailChangedNoticeEmail;
