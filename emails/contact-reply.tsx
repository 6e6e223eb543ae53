import { Body, Container, Head, Heading, Hr, Html, Preview, Section, Text } from "@react-email/components";
import { PRODUCT_NAME, styles } from "./layout";

export type ContactReplyEmailProps = {
  name: string;
  /** The subject the sender typed. */
  subject: string;
  /** What the staff member wrote; sent as plain text, one paragraph per blank-line-separated block. */
  reply: string;
  appUrl: string;
};

export function subject(props: ContactReplyEmailProps): string {
  return `Re: ${props.subject}`;
}

// Its own frame, like the acknowledgement: the sender may have no account. Only the staff member's words
// are sent; the original message is not quoted back (anyone can type any address into the contact form).
export function ContactReplyEmail({ name, reply, appUrl }: ContactReplyEmailProps) {
  const paragraphs = reply
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter(Boolean);
  return (
    <Html lang="en">
      <Head />
      <Preview>{`A reply from ${PRODUCT_NAME} support`}</Preview>
      <Body style={styles.body}>
        <Container style={styles.container}>
          <Section>
            <Text style={styles.brand}>{PRODUCT_NAME}</Text>
          </Section>
          <Section>
            <Heading as="h1" style={styles.heading}>
              A reply to your message
            </Heading>
            <Text style={styles.text}>{`Hi ${name || "there"},`}</Text>
            {paragraphs.map((paragraph, index) => (
              <Text key={index} style={{ ...styles.text, whiteSpace: "pre-line" }}>
                {paragraph}
              </Text>
            ))}
          </Section>
          <Hr style={styles.hr} />
          <Text style={styles.footer}>
            {`You got this email because you wrote to us through the contact form at ${appUrl}. To answer, use the form again. We never ask for your password.`}
          </Text>
        </Container>
      </Body>
    </Html>
  );
}

ContactReplyEmail.PreviewProps = {
  name: "Jane",
  subject: "Question about mobile money top-ups",
  reply: "Hello Jane,\n\nYes: MTN MoMo top-ups are approved within a few hours on working days.",
  appUrl: "http://localhost:3000",
} satisfies ContactReplyEmailProps;

export default ContactReplyEmail;
