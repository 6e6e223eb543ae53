import { Button, Heading, Link, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type ManualTopUpApprovedEmailProps = {
  displayName: string;
  /** e.g. "MTN MoMo". */
  methodName: string;
  /** The transaction reference as the member typed it. */
  reference: string;
  /** Formatted amounts, e.g. "$10.00". */
  claimedAmount: string;
  creditedAmount: string;
  /** True when the admin credited a different amount than the one claimed. */
  amountDiffers: boolean;
  /** The admin's note (required when the amounts differ). */
  note?: string | null;
  /** Available balance right after the credit, formatted. */
  availableBalance: string;
  /** When the member sent the request, human-readable. */
  requestedOn: string;
  walletUrl: string;
  topUpsUrl: string;
  appUrl?: string;
};

export function subject(props?: ManualTopUpApprovedEmailProps): string {
  return props
    ? `Top-up approved: ${props.creditedAmount} added to your wallet`
    : `Your ${PRODUCT_NAME} top-up was approved`;
}

export function ManualTopUpApprovedEmail({
  displayName,
  methodName,
  reference,
  claimedAmount,
  creditedAmount,
  amountDiffers,
  note,
  availableBalance,
  requestedOn,
  walletUrl,
  topUpsUrl,
  appUrl,
}: ManualTopUpApprovedEmailProps) {
  return (
    <EmailLayout preview={`Your ${methodName} top-up was approved: ${creditedAmount} added`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your top-up was approved
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`We checked your ${methodName} payment (reference ${reference}, sent on ${requestedOn}) and added ${creditedAmount} to your wallet.`}</Text>
      {amountDiffers ? (
        <Text style={styles.text}>
          {`You told us you sent ${claimedAmount}; we credited ${creditedAmount}.`}
          {note ? (
            <>
              <br />
              {`Note from our team: ${note}`}
            </>
          ) : null}
        </Text>
      ) : note ? (
        <Text style={styles.text}>{`Note from our team: ${note}`}</Text>
      ) : null}
      <Text style={styles.text}>{`Available balance now: ${availableBalance}`}</Text>
      <Section style={styles.buttonSection}>
        <Button href={walletUrl} style={styles.button}>
          Open my wallet
        </Button>
      </Section>
      <Text style={styles.muted}>
        All your manual top-ups and their status: <Link href={topUpsUrl}>{topUpsUrl}</Link>
      </Text>
    </EmailLayout>
  );
}

ManualTopUpApprovedEmail.PreviewProps = {
  displayName: "Amina",
  methodName: "MTN MoMo",
  reference: "MP240312.1405.A12345",
  claimedAmount: "$10.00",
  creditedAmount: "$9.50",
  amountDiffers: true,
  note: "We received $9.50 after the operator fee.",
  availableBalance: "$12.75",
  requestedOn: "Tue, 12 Mar 2025 14:05:00 GMT",
  walletUrl: "http://localhost:3000/wallet",
  topUpsUrl: "http://localhost:3000/wallet/top-ups",
} satisfies ManualTopUpApprovedEmailProps;

export default ManualTopUpApprovedEmail;
