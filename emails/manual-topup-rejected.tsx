import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type ManualTopUpRejectedEmailProps = {
  displayName: string;
  /** e.g. "Orange Money". */
  methodName: string;
  /** The transaction reference as the member typed it. */
  reference: string;
  /** Formatted, e.g. "$10.00". */
  claimedAmount: string;
  /** Why it was refused, written by an admin for the member. */
  reason: string;
  /** When the member sent the request, human-readable. */
  requestedOn: string;
  newRequestUrl: string;
  topUpsUrl: string;
  appUrl?: string;
};

export function subject(_props?: ManualTopUpRejectedEmailProps): string {
  return `Your ${PRODUCT_NAME} top-up could not be approved`;
}

export function ManualTopUpRejectedEmail({
  displayName,
  methodName,
  reference,
  claimedAmount,
  reason,
  requestedOn,
  newRequestUrl,
  topUpsUrl,
  appUrl,
}: ManualTopUpRejectedEmailProps) {
  return (
    <EmailLayout preview={`Your ${methodName} top-up of ${claimedAmount} could not be approved`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your top-up could not be approved
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`We could not approve your ${methodName} top-up of ${claimedAmount} (reference ${reference}, sent on ${requestedOn}). Nothing was added to your wallet.`}</Text>
      <Text style={styles.text}>{`Reason: ${reason}`}</Text>
      <Text style={styles.text}>
        If you did send the money, check the reference in your payment confirmation message and send a new request with
        the correct details.
      </Text>
      <Section style={styles.buttonSection}>
        <Button href={newRequestUrl} style={styles.button}>
          Send a new request
        </Button>
      </Section>
      <Text style={styles.muted}>
        All your manual top-ups and their status: <Link href={topUpsUrl}>{topUpsUrl}</Link>
      </Text>
    </EmailLayout>
  );
}

ManualTopUpRejectedEmail.PreviewProps = {
  displayName: "Amina",
  methodName: "Orange Money",
  reference: "OM2403121405",
  claimedAmount: "$10.00",
  reason: "We found no payment with this reference. Please check it in your Orange Money SMS.",
  requestedOn: "Tue, 12 Mar 2025 14:05:00 GMT",
  newRequestUrl: "http://localhost:3000/wallet/top-up/manual",
  topUpsUrl: "http://localhost:3000/wallet/top-ups",
} satisfies ManualTopUpRejectedEmailProps;

export default ManualTopUpRejectedEmail;
