import { Button, Heading, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type TopUpReceiptEmailProps = {
  displayName: string;
  /** Formatted amount credited, e.g. "$20.00". */
  amount: string;
  /** Formatted wallet balance right after the credit, e.g. "$32.50". */
  balance: string;
  /** Human-readable time of the credit, e.g. "Sun, 23 Nov 2026 19:40:00 GMT". */
  when: string;
  /** How the member paid, e.g. "Card (Stripe)". */
  method: string;
  /** What support and the Stripe dashboard know the payment by (the Checkout Session id). */
  reference: string;
  /** Absolute URL of the wallet page. */
  walletUrl?: string;
  appUrl?: string;
};

export function subject({ amount }: Pick<TopUpReceiptEmailProps, "amount">): string {
  return `Receipt: ${amount} added to your ${PRODUCT_NAME} wallet`;
}

const row = { ...styles.text, margin: "0 0 6px" };

export function TopUpReceiptEmail({
  displayName,
  amount,
  balance,
  when,
  method,
  reference,
  walletUrl,
  appUrl,
}: TopUpReceiptEmailProps) {
  return (
    <EmailLayout preview={`${amount} was added to your wallet`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Top-up received
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text style={styles.text}>{`We received your payment and added ${amount} to your wallet. Thank you!`}</Text>
      <Section style={{ margin: "0 0 16px" }}>
        <Text style={row}>{`Amount: ${amount}`}</Text>
        <Text style={row}>{`New balance: ${balance}`}</Text>
        <Text style={row}>{`Date: ${when}`}</Text>
        <Text style={row}>{`Paid with: ${method}`}</Text>
        <Text style={row}>{`Reference: ${reference}`}</Text>
      </Section>
      {walletUrl ? (
        <Section style={styles.buttonSection}>
          <Button href={walletUrl} style={styles.button}>
            Open my wallet
          </Button>
        </Section>
      ) : null}
      <Text style={styles.muted}>
        Keep this email as your receipt. If you did not make this payment, contact our support team and quote the
        reference above.
      </Text>
    </EmailLayout>
  );
}

TopUpReceiptEmail.PreviewProps = {
  displayName: "Jane",
  amount: "$20.00",
  balance: "$32.50",
  when: "Sun, 23 Nov 2026 19:40:00 GMT",
  method: "Card (Stripe)",
  reference: "cs_test_a1b2c3",
  walletUrl: "http://localhost:3000/wallet",
} satisfies TopUpReceiptEmailProps;

export default TopUpReceiptEmail;
