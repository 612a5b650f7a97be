-- Which configured refresh token an OAuth token set descends from (a SHA-256 fingerprint, never
-- the token). When an operator re-authorises a connection and puts the new refresh token in the
-- config, the fingerprints differ and the worker starts from the config again instead of reusing
-- the stored, revoked chain. NULL (sets written before this column) counts as a match.
ALTER TABLE oauth_tokens ADD COLUMN seed text;
