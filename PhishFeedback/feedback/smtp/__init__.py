"""SMTP as a way out: the connection cut at the deadline, the secured session, the logins, what replies mean,
and the transport that turns them into the delivery policy's answers."""
