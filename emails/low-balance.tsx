import { Button, Heading, Section, Text } from "@react-email/components";
import { EmailLayout, PRODUCT_NAME, styles } from "./layout";

export type LowBalanceEmailProps = {
  displayName: string;
  /** Formatted available balance, e.g. "$1.20". */
  available: string;
  /** Formatted alert threshold the member chose, e.g. "$2.00". */
  threshold: string;
  /** Absolute URL of the top-up page. */
  topUpUrl: string;
  /** Absolute URL of the wallet page (where the alert is changed or switched off). */
  walletUrl: string;
  appUrl?: string;
};

export function subject(_props?: LowBalanceEmailProps): string {
  return `Your ${PRODUCT_NAME} balance is low`;
}

export function LowBalanceEmail({
  displayName,
  available,
  threshold,
  topUpUrl,
  walletUrl,
  appUrl,
}: LowBalanceEmailProps) {
  return (
    <EmailLayout preview={`Your available balance is ${available}`} appUrl={appUrl}>
      <Heading as="h1" style={styles.heading}>
        Your balance is low
      </Heading>
      <Text style={styles.text}>{`Hi ${displayName || "there"},`}</Text>
      <Text
        style={styles.text}
      >{`Your available balance is ${available}, below the alert you set at ${threshold}. Generations that cost more than what is available will not start.`}</Text>
      <Section style={styles.buttonSection}>
        <Button href={topUpUrl} style={styles.button}>
          Top up my wallet
        </Button>
      </Section>
      <Text
        style={styles.muted}
      >{`We send this once each time your balance drops below ${threshold}. To change or switch off the alert, visit ${walletUrl}`}</Text>
    </EmailLayout>
  );
}

LowBalanceEmail.PreviewProps = {
  displayName: "Jane",
  available: "$1.20",
  threshold: "$2.00",
  topUpUrl: "http://localhost:3000/wallet/top-up",
  walletUrl: "http://localhost:3000/wallet",
} satisfies LowBalanceEmailProps;

export default LowBalanceEmail;
