"""The email channel: mailboxes in (IMAP, LMTP, files), replies out (SMTP)."""
