-- A console user is unique per organization by e-mail address in any
-- case: sign-in matches lower(email), so Ada@x and ada@x in one
-- organization would be one person listed twice. (A database that
-- already holds such a pair stops here: remove one of the two users,
-- then start again.)
CREATE UNIQUE INDEX users_org_email_nocase ON users (org_id, lower(email));
