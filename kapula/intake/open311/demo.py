"""The demo city's Open311 client. No key is ever committed: the demo client exists only
when ``KAPULA_DEMO_OPEN311_KEY`` is set (for a local demo), with that key."""

from __future__ import annotations

import os

from django.utils.translation import gettext as _

from kapula.core.models import Organisation, hash_token
from kapula.intake.open311.models import Open311Client

DEMO_CLIENT_NAME = "Demo mobile app"
ENV_KEY = "KAPULA_DEMO_OPEN311_KEY"


def demo_key() -> str:
    return os.environ.get(ENV_KEY, "").strip()


def ensure_demo_client(org: Organisation) -> Open311Client | None:
    """The demo client with the key from the environment (idempotent), or None."""
    raw = demo_key()
    if len(raw) < 16:
        return None
    client = Open311Client.objects.filter(organisation=org, name=DEMO_CLIENT_NAME).first()
    digest = hash_token(raw)
    if client is None:
        return Open311Client.objects.create(organisation=org, name=DEMO_CLIENT_NAME,
                                            prefix=raw[:10], key_hash=digest,
                                            notes="kapula demo_data")
    if client.key_hash != digest:
        client.key_hash, client.prefix = digest, raw[:10]
        client.save(update_fields=["key_hash", "prefix"])
    return client


def login_lines(org_slug: str) -> list[str]:
    """What ``kapula demo_data --logins`` says about Open311 keys."""
    if len(demo_key()) >= 16:
        return [_("Open311 API (/open311/v2/): the demo client's api_key is the value of "
                  "%(env)s.") % {"env": ENV_KEY}]
    return [_("Open311 API (/open311/v2/): create an api_key with `kapula open311_client "
              "--org %(org)s --name NAME`, or set %(env)s (16 characters or more) before "
              "`kapula demo_data`.") % {"org": org_slug, "env": ENV_KEY}]
