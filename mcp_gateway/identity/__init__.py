"""Who a call acts for: API tokens (stored hashed), OAuth 2.1 JWT access tokens, and the SDK
`TokenVerifier` that turns either into a `Principal` for the HTTP transports.

Deliberately empty of imports: `mcp_gateway.config` imports `identity.config`, which must not
drag the token store, PyJWT or the MCP SDK in with it.
"""
