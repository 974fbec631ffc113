"""Microsoft's side: Entra ID's client-credentials token (for SMTP's OAuth2 login and for Graph) and Microsoft Graph
as a way out."""
