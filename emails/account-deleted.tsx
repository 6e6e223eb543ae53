import { Heading, Link, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

// Sent to the old address after the account is gone. It names nobody: the address is the only
// personal detail it carries, and we do not keep even that.
export type AccountDeletedEmailProps = {
  /** Human-readable time of the deletion. */
  when: string;
  /** Absolute URL of the contact page. */
  contactUrl: string;
  appUrl?: string;
};

export function subject(_props?: AccountDeletedEmailProps): string {
  return `Your ${PRODUCT_NAME} account was deleted`;
}

export function AccountDeletedEmail({ when, contactUrl, appUrl }: AccountDeletedEmailProps) {
  return (
    <EmailLayout preview={`Your ${PRODUCT_NAME} account was deleted`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your account was deleted
      </Heading>
      <Text style={styles.text}>{`As you asked, your ${PRODUCT_NAME} account was deleted on ${when}.`}</Text>
      <Text style={styles.text}>
        Your profile, prompts, outputs, files, conversations and sessions are erased, and you have been signed out
        everywhere. Any balance left in your wallet was forfeited.
      </Text>
      <Text style={styles.text}>
        We keep only what the law and our accounts require: the amounts of your payments and wallet movements, without
        your name, email, phone number or payment sender details.
      </Text>
      <Text style={styles.text}>
        If you did not ask for this, or want to ask about a refund of your balance,{" "}
        <Link href={contactUrl}>contact us</Link>.
      </Text>
      <Text style={styles.muted}>This is the last email we send to this address.</Text>
    </EmailLayout>
  );
}

AccountDeletedEmail.PreviewProps = {
  when: "12 March 2025, 14:05 UTC",
  contactUrl: "http://localhost:3000/contact",
} satisfies AccountDeletedEmailProps;

export default AccountDeletedEmail;
