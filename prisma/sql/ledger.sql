-- Ledger functions: the only code that writes ledger rows (called by app/models/ledger.server.ts).
-- Applied by scripts/lib/postgres.ts `migrate()` after `prisma migrate deploy`, every time: every
-- statement here is idempotent (CREATE OR REPLACE). Requires PostgreSQL 14+.

-- Append-only: transfers and entries are never changed or removed. Corrections are new transfers.
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % rows are append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
-- The one change a written transfer allows: ledger_redact_metadata (below) removing personal details from
-- its metadata when a member's account is deleted. Only inside that function (a transaction-local flag),
-- only metadata, and only removing top-level keys: amounts, accounts, kinds and keys never change.
CREATE OR REPLACE FUNCTION ledger_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('ledger.redact', true) = 'on'
    AND to_jsonb(NEW) - 'metadata' = to_jsonb(OLD) - 'metadata'
    AND NEW.metadata = OLD.metadata - ARRAY(
      SELECT k FROM jsonb_object_keys(OLD.metadata) k WHERE NOT NEW.metadata ? k) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ledger: % rows are append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE OR REPLACE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON "ledger_transfers"
  FOR EACH ROW EXECUTE FUNCTION ledger_transfers_guard();
CREATE OR REPLACE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON "ledger_entries"
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

-- Errors the app maps to typed errors read "ledger: <code>: <detail>". The hold functions below, which
-- refuse before writing anything, RETURN that text in a `refusal` column instead of raising it: with
-- pg-pool (Prisma's pg adapter), any query error closes the pooled connection, so a refused hold (an
-- everyday event: an empty wallet) would cost the next query a new connection. ledger_transfer still
-- raises: its refusals come after writes that must roll back, and they are rare (refunds, disputes).
-- Their result types changed (refusal added), which CREATE OR REPLACE cannot do: drop the old ones.
DROP FUNCTION IF EXISTS ledger_hold(text, text, bigint, timestamptz, jsonb);
DROP FUNCTION IF EXISTS ledger_post_hold(text, bigint, text, text, text, jsonb);
DROP FUNCTION IF EXISTS ledger_void_hold(text);

-- One balanced transfer: postings as parallel arrays (account ids, signed amounts).
-- Idempotent on p_key: a replay returns the first transfer and replayed = true.
CREATE OR REPLACE FUNCTION ledger_transfer(
  p_key text, p_kind text, p_description text, p_metadata jsonb, p_reverses text,
  p_accounts text[], p_amounts bigint[]
) RETURNS TABLE (transfer_id text, replayed boolean) LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
  v_count int := coalesce(array_length(p_accounts, 1), 0);
  v_found int;
  v_currencies int;
  v_posting record;
  v_balance bigint;
  v_held bigint;
  v_allow_negative boolean;
BEGIN
  IF v_count < 2 OR v_count <> coalesce(array_length(p_amounts, 1), 0) THEN
    RAISE EXCEPTION 'ledger: invalid_transfer: a transfer needs at least two postings';
  END IF;
  IF (SELECT count(DISTINCT a) FROM unnest(p_accounts) a) <> v_count THEN
    RAISE EXCEPTION 'ledger: invalid_transfer: an account appears twice';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(p_amounts) a WHERE a = 0 OR a IS NULL) THEN
    RAISE EXCEPTION 'ledger: invalid_transfer: postings must not be zero';
  END IF;
  IF (SELECT sum(a) FROM unnest(p_amounts) a) <> 0 THEN
    RAISE EXCEPTION 'ledger: invalid_transfer: postings must sum to zero';
  END IF;

  INSERT INTO ledger_transfers (idempotency_key, kind, description, metadata, reverses_id)
  VALUES (p_key, p_kind, p_description, coalesce(p_metadata, '{}'::jsonb), p_reverses)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    RETURN QUERY SELECT t.id, true FROM ledger_transfers t WHERE t.idempotency_key = p_key;
    RETURN;
  END IF;

  -- Lock every account of the transfer in one fixed order (by id): no deadlocks between transfers.
  -- NO KEY UPDATE is enough (keys never change) and does not wait on foreign-key checks.
  SELECT count(*), count(DISTINCT currency) INTO v_found, v_currencies
  FROM (SELECT id, currency FROM ledger_accounts WHERE id = ANY (p_accounts) ORDER BY id FOR NO KEY UPDATE) locked;
  IF v_found <> v_count THEN
    RAISE EXCEPTION 'ledger: unknown_account: %', p_accounts;
  END IF;
  IF v_currencies <> 1 THEN
    RAISE EXCEPTION 'ledger: invalid_transfer: accounts in different currencies';
  END IF;

  FOR v_posting IN SELECT * FROM unnest(p_accounts, p_amounts) AS p(account_id, amount) ORDER BY account_id LOOP
    SELECT balance + v_posting.amount, held, allow_negative INTO v_balance, v_held, v_allow_negative
    FROM ledger_accounts WHERE id = v_posting.account_id;
    IF NOT v_allow_negative AND v_balance - v_held < 0 THEN
      RAISE EXCEPTION 'ledger: insufficient_funds: %', v_posting.account_id;
    END IF;
    UPDATE ledger_accounts SET balance = v_balance WHERE id = v_posting.account_id;
    INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after)
    VALUES (v_id, v_posting.account_id, v_posting.amount, v_balance);
  END LOOP;
  RETURN QUERY SELECT v_id, false;
END $$;

-- The hold functions below keep a wallet's row lock as short as they can: every read, check and write
-- that does not need the lock happens first, and the wallet's UPDATE comes last, so the lock lasts from
-- that UPDATE to the commit. A busy wallet's holds and charges queue on that lock (ADR 0009).

-- A hold's foreign key to its account is checked at commit, when ledger_hold already holds the wallet's
-- row lock. Checked at the INSERT, it would take a share lock on the busy wallet row before the UPDATE,
-- and concurrent holds would pile those share locks up into multixacts that every UPDATE has to copy.
-- Altered only once: this file runs on every deploy, and ALTER TABLE locks the table.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ledger_holds_account_id_fkey' AND NOT condeferrable) THEN
    ALTER TABLE ledger_holds ALTER CONSTRAINT ledger_holds_account_id_fkey DEFERRABLE INITIALLY DEFERRED;
  END IF;
END $$;

-- Reserve p_amount of a wallet's available balance. Idempotent on p_key.
CREATE OR REPLACE FUNCTION ledger_hold(
  p_key text, p_account text, p_amount bigint, p_expires_at timestamptz, p_metadata jsonb
) RETURNS TABLE (hold_id text, replayed boolean, refusal text) LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
  v_account ledger_accounts%ROWTYPE;
BEGIN
  IF p_amount IS NULL OR p_amount <= 0 THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: invalid_hold: the amount must be positive';
    RETURN;
  END IF;
  SELECT h.id INTO v_id FROM ledger_holds h WHERE h.idempotency_key = p_key;
  IF v_id IS NOT NULL THEN
    RETURN QUERY SELECT v_id, true, NULL::text;
    RETURN;
  END IF;
  -- Without a lock: an empty wallet is refused before anything is written (the everyday refusal).
  SELECT * INTO v_account FROM ledger_accounts WHERE id = p_account;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: unknown_account: ' || p_account;
    RETURN;
  END IF;
  IF NOT v_account.allow_negative AND v_account.balance - v_account.held < p_amount THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: insufficient_funds: ' || p_account;
    RETURN;
  END IF;
  -- Claims the key: a concurrent replay waits on this row's key until we commit, then finds our hold.
  INSERT INTO ledger_holds (idempotency_key, account_id, amount, expires_at, metadata)
  VALUES (p_key, p_account, p_amount, p_expires_at, coalesce(p_metadata, '{}'::jsonb))
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    RETURN QUERY SELECT h.id, true, NULL::text FROM ledger_holds h WHERE h.idempotency_key = p_key;
    RETURN;
  END IF;
  -- The funds check that counts: re-evaluated on the newest row version once the lock is ours.
  UPDATE ledger_accounts SET held = held + p_amount
  WHERE id = p_account AND (allow_negative OR balance - held >= p_amount);
  IF NOT FOUND THEN
    -- Another hold took the money since the check above: take back our own, uncommitted hold.
    DELETE FROM ledger_holds WHERE id = v_id;
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: insufficient_funds: ' || p_account;
    RETURN;
  END IF;
  RETURN QUERY SELECT v_id, false, NULL::text;
END $$;

-- Charge p_amount (0 ≤ p_amount ≤ held) to p_to and release the rest. Resolves the hold exactly once;
-- posting again returns the same transfer (replayed = true).
CREATE OR REPLACE FUNCTION ledger_post_hold(
  p_hold text, p_amount bigint, p_to text, p_kind text, p_description text, p_metadata jsonb
) RETURNS TABLE (transfer_id text, replayed boolean, refusal text) LANGUAGE plpgsql AS $$
DECLARE
  v_hold ledger_holds%ROWTYPE;
  v_transfer text;
  v_found int;
  v_currencies int;
  v_wallet_balance bigint;
  v_to_balance bigint;
BEGIN
  SELECT * INTO v_hold FROM ledger_holds WHERE id = p_hold FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: unknown_hold: ' || p_hold;
    RETURN;
  END IF;
  IF v_hold.status = 'posted' THEN
    IF v_hold.posted_amount <> p_amount THEN
      RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: hold_resolved: ' || p_hold || ' was posted with another amount';
      RETURN;
    END IF;
    RETURN QUERY SELECT v_hold.transfer_id, true, NULL::text;
    RETURN;
  END IF;
  IF v_hold.status = 'voided' THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: hold_resolved: ' || p_hold || ' was voided';
    RETURN;
  END IF;
  IF p_amount IS NULL OR p_amount < 0 OR p_amount > v_hold.amount THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: invalid_hold: the charge must be between 0 and the held amount';
    RETURN;
  END IF;
  -- Accounts are never removed and never change currency: checked without locking them.
  SELECT count(*), count(DISTINCT currency) INTO v_found, v_currencies
  FROM ledger_accounts WHERE id IN (v_hold.account_id, p_to);
  IF v_found <> 2 THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: unknown_account: ' || p_to;
    RETURN;
  END IF;
  IF v_currencies <> 1 THEN
    RETURN QUERY SELECT NULL::text, NULL::boolean, 'ledger: invalid_transfer: accounts in different currencies';
    RETURN;
  END IF;

  IF p_amount > 0 THEN
    INSERT INTO ledger_transfers (idempotency_key, kind, description, metadata)
    VALUES ('hold:' || v_hold.id || ':post', p_kind, p_description,
            coalesce(p_metadata, '{}'::jsonb) || jsonb_build_object('holdId', v_hold.id))
    RETURNING id INTO v_transfer;
  END IF;
  UPDATE ledger_holds SET status = 'posted', posted_amount = p_amount, transfer_id = v_transfer, resolved_at = now()
  WHERE id = v_hold.id;
  IF p_amount = 0 THEN
    UPDATE ledger_accounts SET held = held - v_hold.amount WHERE id = v_hold.account_id;
    RETURN QUERY SELECT v_transfer, false, NULL::text;
    RETURN;
  END IF;
  -- The two accounts are locked in id order, as ledger_transfer locks them: no deadlocks between them.
  IF p_to < v_hold.account_id THEN
    UPDATE ledger_accounts SET balance = balance + p_amount WHERE id = p_to RETURNING balance INTO v_to_balance;
  END IF;
  UPDATE ledger_accounts SET held = held - v_hold.amount, balance = balance - p_amount
  WHERE id = v_hold.account_id RETURNING balance INTO v_wallet_balance;
  IF p_to > v_hold.account_id THEN
    UPDATE ledger_accounts SET balance = balance + p_amount WHERE id = p_to RETURNING balance INTO v_to_balance;
  END IF;
  INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after)
  VALUES (v_transfer, v_hold.account_id, -p_amount, v_wallet_balance), (v_transfer, p_to, p_amount, v_to_balance);
  RETURN QUERY SELECT v_transfer, false, NULL::text;
END $$;

-- Release a hold entirely. Voiding twice is harmless (voided = false the second time).
CREATE OR REPLACE FUNCTION ledger_void_hold(p_hold text) RETURNS TABLE (voided boolean, refusal text)
LANGUAGE plpgsql AS $$
DECLARE
  v_hold ledger_holds%ROWTYPE;
BEGIN
  SELECT * INTO v_hold FROM ledger_holds WHERE id = p_hold FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT NULL::boolean, 'ledger: unknown_hold: ' || p_hold;
    RETURN;
  END IF;
  IF v_hold.status = 'voided' THEN
    RETURN QUERY SELECT false, NULL::text;
    RETURN;
  END IF;
  IF v_hold.status = 'posted' THEN
    RETURN QUERY SELECT NULL::boolean, 'ledger: hold_resolved: ' || p_hold || ' was posted';
    RETURN;
  END IF;
  UPDATE ledger_holds SET status = 'voided', resolved_at = now() WHERE id = v_hold.id;
  UPDATE ledger_accounts SET held = held - v_hold.amount WHERE id = v_hold.account_id;
  RETURN QUERY SELECT true, NULL::text;
END $$;

-- Crash safety: release pending holds past their expiry, a batch at a time; returns how many.
CREATE OR REPLACE FUNCTION ledger_void_expired_holds(p_limit int) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  v_id text;
  v_count int := 0;
BEGIN
  FOR v_id IN
    SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at <= now()
    ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM ledger_void_hold(v_id);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;

-- Removes the top-level keys p_keys from the metadata of every transfer that moved money in or out of
-- p_account (account deletion: payment references and sender numbers). Returns how many were changed.
CREATE OR REPLACE FUNCTION ledger_redact_metadata(p_account text, p_keys text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer;
BEGIN
  PERFORM set_config('ledger.redact', 'on', true);
  UPDATE ledger_transfers t SET metadata = t.metadata - p_keys
  WHERE t.metadata ?| p_keys
    AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transfer_id = t.id AND e.account_id = p_account);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  PERFORM set_config('ledger.redact', 'off', true);
  RETURN v_count;
END $$;
