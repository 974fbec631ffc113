"""Google's side: a service account's token with domain-wide delegation, and the Gmail API as a way out."""
