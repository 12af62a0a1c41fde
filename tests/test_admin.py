"""Configuration admin: org admins see and change only their own organisation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kapula.core.models import Team
from kapula.tickets.models import Category, PriorityRule, TicketType

PAGES = ["core_organisation", "core_unit", "core_team", "core_user", "core_customer",
         "core_apitoken", "core_outboxevent", "tickets_tickettype", "tickets_category",
         "tickets_priorityrule", "tickets_customfield", "tickets_tag"]


@pytest.mark.parametrize("page", PAGES)
def test_org_admin_lists_only_own_rows(client, world, page):
    client.force_login(world.org_admin)
    response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200
    assert b"Oulun palvelupiste" not in response.content


def test_org_admin_cannot_open_other_orgs_team(client, world):
    client.force_login(world.org_admin)
    url = reverse("admin:core_team_change", args=[world.other_team.pk])
    assert client.get(url).status_code in (302, 404)


def test_org_admin_adds_type_in_own_org(client, world):
    client.force_login(world.org_admin)
    response = client.post(reverse("admin:tickets_tickettype_add"), {
        "name_fi": "Palaute", "name_sv": "Respons", "name_en": "Feedback", "code": "feedback",
        "ordering": 5, "is_active": "on"})
    assert response.status_code == 302
    assert TicketType.objects.get(code="feedback").organisation == world.org


def test_priority_matrix_editable(client, world):
    client.force_login(world.org_admin)
    response = client.post(reverse("admin:tickets_priorityrule_add"), {
        "impact": "high", "urgency": "low", "priority": 2})
    assert response.status_code == 302
    assert PriorityRule.objects.get(organisation=world.org).priority == 2


def test_category_default_team_limited_to_own_org(client, world):
    client.force_login(world.org_admin)
    response = client.post(reverse("admin:tickets_category_add"), {
        "name_fi": "Vieras", "default_team": world.other_team.pk, "is_active": "on"})
    assert response.status_code == 200  # form error: not a valid choice
    assert not Category.objects.filter(name_fi="Vieras").exists()


@pytest.mark.parametrize("who", ["agent", "lead", "unit_admin"])
def test_non_admins_are_kept_out(client, world, who):
    client.force_login(getattr(world, who))
    response = client.get(reverse("admin:core_team_changelist"))
    assert response.status_code == 302
    assert Team.objects.count() == 4


def test_tokens_cannot_be_moved_or_revived_but_can_be_revoked(client, world):
    from kapula.core.actions import create_api_token
    from kapula.core.models import ApiToken

    token, raw = create_api_token(actor=None, user=world.agent, name="integraatio")
    client.force_login(world.org_admin)
    change_url = reverse("admin:core_apitoken_change", args=[token.pk])
    page = client.get(change_url).content.decode()
    assert 'name="user"' not in page and 'name="revoked_at"' not in page
    response = client.post(reverse("admin:core_apitoken_changelist"), {
        "action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    api = type(client)()
    assert api.get("/api/v1/teams", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_org_admin_edits_team_members_only_from_own_org(client, world):
    client.force_login(world.org_admin)
    url = reverse("admin:core_team_change", args=[world.it_desk.pk])
    page = client.get(url).content.decode()
    assert 'name="memberships-TOTAL_FORMS"' in page  # the inline is shown to org admins
    assert world.agent.username in page and world.other_agent.username not in page
    team = world.it_desk
    form = {"name_fi": team.name_fi, "name_sv": team.name_sv, "name_en": team.name_en,
            "slug": team.slug, "tier": team.tier, "is_active": "on",
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": world.other_agent.pk, "memberships-0-team": team.pk}
    refused = client.post(url, form)
    assert refused.status_code == 200  # not a valid choice: another organisation's person
    assert not team.memberships.filter(user=world.other_agent).exists()
    form["memberships-0-user"] = world.org_admin.pk
    assert client.post(url, form).status_code == 302
    assert team.memberships.filter(user=world.org_admin).exists()
