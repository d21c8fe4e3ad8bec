-- An upstream request's turn at an account whose pace replicas share
-- (store.TakePace), in one statement: the take's four statements and its
-- transaction were two of an idle poll's twelve statements on
-- PostgreSQL, and held the account's row across round trips. Same rules:
-- the account's pace row serializes its takes; GCRA by its theoretical
-- arrival time (refused: wait_us says how long until a token frees);
-- then the lowest slot whose lease has expired or was never taken
-- (none: refused with wait_us 0). A refusal changes nothing.
CREATE FUNCTION take_upstream_pace(p_account TEXT, p_interval_us BIGINT, p_burst INTEGER, p_slots INTEGER,
    p_holder TEXT, p_hold_us BIGINT, p_now TIMESTAMPTZ,
    OUT taken_slot INTEGER, OUT wait_us BIGINT, OUT ok BOOLEAN) AS $$
DECLARE
    now_ts TIMESTAMPTZ := COALESCE(p_now, clock_timestamp());
    tat_ts TIMESTAMPTZ;
    next_ts TIMESTAMPTZ;
    over_us BIGINT;
BEGIN
    taken_slot := 0; wait_us := 0; ok := false;
    INSERT INTO upstream_pace (account, tat) VALUES (p_account, 'epoch')
        ON CONFLICT (account) DO UPDATE SET tat = upstream_pace.tat
        RETURNING upstream_pace.tat INTO tat_ts;
    next_ts := GREATEST(tat_ts, now_ts) + p_interval_us * INTERVAL '1 microsecond';
    over_us := floor(EXTRACT(EPOCH FROM (next_ts - now_ts)) * 1000000)::BIGINT - p_burst * p_interval_us;
    IF over_us > 0 THEN
        wait_us := over_us;
        RETURN;
    END IF;
    SELECT s INTO taken_slot FROM generate_series(0, p_slots - 1) AS s
        WHERE NOT EXISTS (SELECT 1 FROM upstream_slots u
            WHERE u.account = p_account AND u.slot = s AND u.expires_at > now_ts)
        ORDER BY s LIMIT 1;
    IF taken_slot IS NULL OR (SELECT count(*) FROM upstream_slots u WHERE u.account = p_account AND u.expires_at > now_ts) >= p_slots THEN
        taken_slot := 0;
        RETURN;
    END IF;
    INSERT INTO upstream_slots (account, slot, holder, expires_at)
        VALUES (p_account, taken_slot, p_holder, now_ts + p_hold_us * INTERVAL '1 microsecond')
        ON CONFLICT (account, slot) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at;
    UPDATE upstream_pace SET tat = next_ts WHERE account = p_account;
    ok := true;
END
$$ LANGUAGE plpgsql;
