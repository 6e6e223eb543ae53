import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type AccountExistsEmailProps = {
  /** Absolute URL of the sign-in page. */
  loginUrl: string;
  /** Absolute URL of the "forgot password" page. */
  resetUrl: string;
  appUrl?: string;
};

export function subject(_props?: AccountExistsEmailProps): string {
  return `You already have an ${PRODUCT_NAME} account`;
}

export function AccountExistsEmail({ loginUrl, resetUrl, appUrl }: AccountExistsEmailProps) {
  return (
    <EmailLayout preview={`You already have an ${PRODUCT_NAME} account`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        You already have an account
      </Heading>
      <Text style={styles.text}>Hi there,</Text>
      <Text
        style={styles.text}
      >{`Someone (hopefully you) tried to sign up for ${PRODUCT_NAME} with this email address, but an account with this address already exists. No new account was created.`}</Text>
      <Text style={styles.text}>To use your existing account, sign in:</Text>
      <Section style={styles.buttonSection}>
        <Button href={loginUrl} style={styles.button}>
          Sign in
        </Button>
      </Section>
      <Text style={styles.text}>
        Forgot your password? You can choose a new one here: <Link href={resetUrl}>{resetUrl}</Link>
      </Text>
      <Text style={styles.muted}>If you did not try to sign up, you can ignore this email.</Text>
    </EmailLayout>
  );
}

AccountExistsEmail.PreviewProps = {
  loginUrl: "http://localhost:3000/login",
  resetUrl: "http://localhost:3000/forgot-password",
} satisfies AccountExistsEmailProps;

export default AccountExistsEmail;
