-- The quota forecast reads every instance of one upstream account.
CREATE INDEX instances_account ON instances (account);
