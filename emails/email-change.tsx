import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type EmailChangeEmailProps = {
  displayName: string;
  /** The new address this email is sent to. */
  newEmail: string;
  /** 8-digit one-time code. */
  code: string;
  /** Absolute URL that confirms the new address in one click. */
  link: string;
  expiresInMinutes: number;
  appUrl?: string;
};

export function subject(_props?: EmailChangeEmailProps): string {
  return `Confirm your new email address for ${PRODUCT_NAME}`;
}

export function EmailChangeEmail({
  displayName,
  newEmail,
  code,
  link,
  expiresInMinutes,
  appUrl,
}: EmailChangeEmailProps) {
  return (
    <EmailLayout preview={`Confirm ${newEmail} as your new ${PRODUCT_NAME} email`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Confirm your new email address
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`You asked to change the email address of your ${PRODUCT_NAME} account to ${newEmail}. To confirm, enter this code:`}</Text>
      <Text style={styles.code}>{code}</Text>
      <Text style={styles.text}>Or confirm with one click:</Text>
      <Section style={styles.buttonSection}>
        <Button href={link} style={styles.button}>
          Confirm new email
        </Button>
      </Section>
      <Text style={styles.muted}>
        If the button does not work, copy this link into your browser: <Link href={link}>{link}</Link>
      </Text>
      <Text
        style={styles.muted}
      >{`The code and link expire in ${expiresInMinutes} minutes. Your email address stays the same until you confirm. If you did not ask for this change, you can ignore this email.`}</Text>
    </EmailLayout>
  );
}

EmailChangeEmail.PreviewProps = {
  displayName: "Jane",
  newEmail: "jane.new@example.com",
  code: "12345678",
  link: "http://localhost:3000/settings/email/confirm?code=12345678",
  expiresInMinutes: 15,
} satisfies EmailChangeEmailProps;

export default EmailChangeEmail;
