"""File servers: a company's or branch's FTP/SFTP settings, and the attachment stores that
talk to them."""
