import uuid

import httpx

from sotay_content.demo import load_demo_documents
from sotay_content.demo_seed import seed_demo
from sotay_devstack.tokens import DevTokens


async def test_the_demo_corpus_is_published_once_for_everyone(
    client: httpx.AsyncClient, dev_tokens: DevTokens
) -> None:
    token = dev_tokens.system_admin()
    first = await seed_demo(client, token)
    again = await seed_demo(client, token)

    assert [s.slug for s in first] == [d.slug for d in load_demo_documents()]
    assert {s.outcome for s in first} == {"published"}
    assert {s.outcome for s in again} == {"already_there"}
    assert [s.document_id for s in again] == [s.document_id for s in first]
    member = {"Authorization": f"Bearer {dev_tokens.member(uuid.uuid4())}"}
    listed = (await client.get("/documents", params={"limit": 100}, headers=member)).json()
    assert {item["id"] for item in listed["items"]} == {s.document_id for s in first}
