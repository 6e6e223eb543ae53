import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type VerificationEmailProps = {
  displayName: string;
  /** 8-digit one-time code. */
  code: string;
  /** Absolute URL that confirms the address in one click. */
  link: string;
  expiresInMinutes: number;
  appUrl?: string;
};

export function subject(_props?: VerificationEmailProps): string {
  return `Confirm your email for ${PRODUCT_NAME}`;
}

export function VerificationEmail({ displayName, code, link, expiresInMinutes, appUrl }: VerificationEmailProps) {
  return (
    <EmailLayout preview={`Your ${PRODUCT_NAME} confirmation code`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Confirm your email address
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`Welcome to ${PRODUCT_NAME}! To finish setting up your account, enter this code on the confirmation page:`}</Text>
      <Text style={styles.code}>{code}</Text>
      <Text style={styles.text}>Or confirm with one click:</Text>
      <Section style={styles.buttonSection}>
        <Button href={link} style={styles.button}>
          Confirm my email
        </Button>
      </Section>
      <Text style={styles.muted}>
        If the button does not work, copy this link into your browser: <Link href={link}>{link}</Link>
      </Text>
      <Text
        style={styles.muted}
      >{`The code and link expire in ${expiresInMinutes} minutes. If you did not create an account, you can ignore this email.`}</Text>
    </EmailLayout>
  );
}

VerificationEmail.PreviewProps = {
  displayName: "Jane",
  code: "12345678",
  link: "http://localhost:3000/verify?code=12345678",
  expiresInMinutes: 15,
} satisfies VerificationEmailProps;

export default VerificationEmail;
