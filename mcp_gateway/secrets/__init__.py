"""The secrets manager: named secrets sealed at rest (AES-256-GCM) under a master key kept
outside the store (OS keyring, environment, or a 0600 key file), rotatable without loss.

    store.py           SecretStore: set / get / list / delete / values / derive_key / rotate_key
    masterkey.py       which configured source supplies the master key (MasterKeySources, KeySet)
    key.py             MasterKey, the value object that never shows the key
    sources.py         the env and key file sources; keyring_source.py, the OS keyring
    record.py          the sealed file format and its cipher; directory.py, the files themselves
    rotation.py        the crash-safe rotation procedure
    files.py           private files: 0600, atomic, refused when others may read them
    config.py          SecretsConfig ([secrets] in gateway.toml); wiring.py builds it from a Config
    errors.py          the exception tree

Deliberately empty of imports: `mcp_gateway.config` imports `secrets.config`, which must not
drag `keyring` (~0.2 s to import) and `cryptography` in with it.
"""
