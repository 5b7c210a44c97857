"""Data-loss prevention: Presidio on every crossing, offline, structure-aware and fast.

leaves.py, paths.py   a payload (arguments, a tool result) -> string leaves with JSON paths
unicode.py            normalisation that undoes disguises, with a map back to the original
engine.py, build.py   Presidio built offline from presidio.yaml plus the secret recognizers
recognizers/          secrets: vendor key formats, JWTs, PEM keys, entropy, the gateway's own
screens.py            where a recognizer can match at all (pii_screens.py for Presidio's own)
scanner.py            the full reference scanner and the fast one proven equal to it
policy.py             dlp.yaml: entities, thresholds, actions per direction, tool and role
actions.py            redact, mask, hash, pseudonymize (pseudonyms.py), block
service.py            one direction's whole step: walk, scan, decide, rewrite or refuse
runtime.py            files read at start-up, the engine built on a worker thread
"""
