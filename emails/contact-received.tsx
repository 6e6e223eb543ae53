import { Body, Container, Head, Heading, Hr, Html, Preview, Section, Text } from "@react-email/components";
import { PRODUCT_NAME, styles } from "./layout";

export type ContactReceivedEmailProps = {
  name: string;
  /** The subject the sender typed: the only part of the message repeated here. */
  subject: string;
  appUrl: string;
};

export function subject(_props?: ContactReceivedEmailProps): string {
  return `We received your message to ${PRODUCT_NAME}`;
}

// Its own frame rather than EmailLayout: the sender may have no account, and the footer says why they got it.
// The message itself is deliberately not repeated. Anyone can type any address into a contact form; an email
// that echoed what was typed would let strangers send their text to anyone, from us.
export function ContactReceivedEmail({ name, subject: topic, appUrl }: ContactReceivedEmailProps) {
  return (
    <Html lang="en">
      <Head />
      <Preview>{`We received your message and will reply to this address.`}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Section>
            <Text style={styles.brand}>{PRODUCT_NAME}</Text>
          </Section>
          <Section>
            <Heading as="h1" style={styles.heading}>
              We received your message
            </Heading>
            <Text style={styles.text}>{`Hi ${name || "there"},`}</Text>
            <Text
              style={styles.text}
            >{`Thank you for writing to us about “${topic}”. A person will read it and reply to this address.`}</Text>
            <Text style={styles.muted}>
              We do not copy your message into this email: anyone can type any address into a contact form, and we do
              not want the form to be usable for sending text to other people.
            </Text>
          </Section>
          <Hr style={styles.hr} />
          <Text style={styles.footer}>
            {`You got this email because this address was entered in the contact form at ${appUrl}. If that was not you, you can ignore it. We never ask for your password.`}
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

ContactReceivedEmail.PreviewProps = {
  name: "Jane",
  subject: "Question about mobile money top-ups",
  appUrl: "http://localhost:3000",
} satisfies ContactReceivedEmailProps;

export default ContactReceivedEmail;
