"""eKYC registrations: the sustained rate on this machine and p50/p95 of each step.

    .venv/bin/python bench/ekyc.py [--members 24] [--concurrency 1 2 4 8] [--registrations 24]

Runs the service layer as the service runs it: one event loop, `RegistrationService` with its
CPU thread pool sized to the cores (IDENTITY_WORKER_THREADS, default one per core), the models
loaded once, a private PostgreSQL. N simulated members register at the same time, each going
start (consent, password hash) -> card photo (decode, find, rectify, blur check, portrait face,
two-engine OCR, record match) -> selfie frames (decode, face check, FaceMesh liveness on every
frame, face template, decision, account and event). Inputs are made before the clock starts:
careful phone photos of generated cards of distinct members carrying a real face (the tests'
renderer; scikit-image's astronaut or matplotlib's Grace Hopper) and selfie frames of that face
doing each possible challenge (20 JPEG frames at 10 fps, re-rendered in 3D from the photo).

Prints, per concurrency: registrations/s (completed / wall time), outcomes, p50/p95 of each
step and end to end, and the CPU seconds one registration costs (process CPU time / count),
which bounds the rate: cores / CPU seconds.
"""

import argparse
import asyncio
import base64
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.identity.support: the card renderer, the faces

from sotay_common.db import (  # noqa: E402
    Database,
    apply_migrations,
    common_migrations,
    connect,
    create_pool,
    load_migrations,
)
from sotay_devstack.postgres import PostgresCluster  # noqa: E402
from sotay_devstack.pytest_plugin import create_database  # noqa: E402
from sotay_identity import repository  # noqa: E402
from sotay_identity.components import Components  # noqa: E402
from sotay_identity.consent import CONSENT_TEXTS, EKYC_BIOMETRIC  # noqa: E402
from sotay_identity.liveness import Step  # noqa: E402
from sotay_identity.matching import MemberRecord  # noqa: E402
from sotay_identity.pipeline import UploadedFrame  # noqa: E402
from sotay_identity.registration import RegistrationService  # noqa: E402
from sotay_identity.schemas import RegistrationStart  # noqa: E402
from sotay_identity.service import AccountsService  # noqa: E402
from sotay_identity.settings import IdentitySettings  # noqa: E402
from tests.identity.support.cards import random_truth  # noqa: E402
from tests.identity.support.registration import (  # noqa: E402
    Tree,
    card_jpeg,
    card_truth,
    member_record,
    seed_tree,
    selfie_frames,
)

FACES = ("astronaut", "hopper")
STEPS = ("start", "card", "selfie", "total")


@dataclass(frozen=True)
class Applicant:
    member: MemberRecord
    face: str
    card: bytes


@dataclass
class Run:
    seconds: dict[str, list[float]]
    outcomes: Counter[str]
    wall_s: float
    cpu_s: float


def make_applicants(tree: Tree, count: int, seed: int) -> list[Applicant]:
    rng = random.Random(seed)
    applicants = []
    for index in range(count):
        truth = random_truth(rng, (tree.committee,))
        member = member_record(
            tree.cell,
            full_name=truth.full_name,
            date_of_birth=truth.date_of_birth,
            party_card_number=truth.party_card_number,
            admission_date=truth.admission_date,
            official_date=truth.official_date,
        )
        face = FACES[index % len(FACES)]
        card = card_jpeg(card_truth(member, tree.committee), face, seed=seed * 1000 + index)
        applicants.append(Applicant(member, face, card))
    return applicants


def all_frames() -> dict[tuple[str, tuple[str, ...]], list[UploadedFrame]]:
    """Frames of each face doing each order of the three steps (what a challenge can ask)."""
    return {
        (face, tuple(order)): selfie_frames(face, order)
        for face in FACES
        for order in itertools.permutations([step.value for step in Step])
    }


async def register_one(
    registration: RegistrationService,
    applicant: Applicant,
    frames: dict[tuple[str, tuple[str, ...]], list[UploadedFrame]],
    run: Run,
) -> None:
    began = time.perf_counter()
    started = await registration.start(
        RegistrationStart(
            consent_text_version=CONSENT_TEXTS[EKYC_BIOMETRIC].version,
            consent_given=True,
            password="Mật khẩu đủ dài 2025",
        ),
        client=f"198.51.100.{random.randint(1, 254)}",
    )
    after_start = time.perf_counter()
    await registration.submit_card(started.session.id, applicant.card)
    after_card = time.perf_counter()
    steps = tuple(step.value for step in started.challenge.steps)
    result = await registration.submit_selfie(
        started.session.id, started.challenge.nonce, frames[(applicant.face, steps)]
    )
    ended = time.perf_counter()
    for step, seconds in zip(
        STEPS,
        (after_start - began, after_card - after_start, ended - after_card, ended - began),
        strict=True,
    ):
        run.seconds[step].append(seconds)
    run.outcomes[result.outcome or "open"] += 1


async def load(
    registration: RegistrationService,
    applicants: list[Applicant],
    frames: dict[tuple[str, tuple[str, ...]], list[UploadedFrame]],
    *,
    concurrency: int,
    total: int,
) -> Run:
    run = Run(defaultdict(list), Counter(), 0.0, 0.0)
    queue = itertools.cycle(applicants)
    remaining = iter(range(total))

    async def member() -> None:
        for _ in remaining:
            try:
                await register_one(registration, next(queue), frames, run)
            except Exception as exc:  # a refused step: count it by its code
                run.outcomes[getattr(exc, "code", type(exc).__name__)] += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(member() for _ in range(concurrency)))
    run.wall_s, run.cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return run


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(concurrency: int, run: Run) -> None:
    done = len(run.seconds["total"])
    cpu_each = run.cpu_s / max(done, 1)
    cores = os.cpu_count() or 1
    print(
        f"\nconcurrency {concurrency}: {done} registrations in {run.wall_s:.1f} s ="
        f" {done / run.wall_s:.2f}/s; outcomes {dict(run.outcomes)}\n"
        f"  CPU {cpu_each:.2f} s per registration: at most {cores / cpu_each:.1f}/s on {cores}"
        " cores with nothing else running"
    )
    for step in STEPS:
        values = run.seconds[step]
        if values:
            print(
                f"  {step:7s} p50 {statistics.median(values) * 1000:7.0f} ms"
                f"   p95 {percentile(values, 0.95) * 1000:7.0f} ms"
            )


async def bench(args: argparse.Namespace, database_url: str, storage: Path) -> None:
    settings = IdentitySettings(
        database_url=database_url,
        template_key=base64.b64encode(os.urandom(32)).decode(),
        storage_url=storage.as_uri(),
        ekyc_sessions_per_address=10**6,
        ekyc_cards_per_number=10**6,
        ekyc_sessions_per_member=10**6,
    )
    migrations = [
        *common_migrations(),
        *load_migrations("identity", files("sotay_identity") / "migrations"),
    ]
    setup = await connect(database_url, settings.db_schema)
    try:
        await apply_migrations(setup, settings.db_schema, migrations)
        tree = await seed_tree(setup)
        applicants = make_applicants(tree, args.members, args.seed)
        for applicant in applicants:
            await repository.upsert_member(setup, applicant.member)
    finally:
        await setup.close()
    frames = all_frames()
    components = Components.from_settings(settings)
    loaded = time.perf_counter()
    components.load_engine()
    print(
        f"models loaded in {time.perf_counter() - loaded:.1f} s;"
        f" {settings.cpu_workers} CPU worker threads; {os.cpu_count()} cores"
    )
    pool = await create_pool(database_url, settings.db_schema, min_size=2, max_size=20)
    database = Database(pool=pool, source="/services/identity")
    accounts = AccountsService(database, components)
    registration = RegistrationService(database, components, accounts)
    try:
        await load(registration, applicants[:2], frames, concurrency=1, total=2)  # warm-up
        for concurrency in args.concurrency:
            run = await load(
                registration,
                applicants,
                frames,
                concurrency=concurrency,
                total=max(args.registrations, concurrency * 3),
            )
            report(concurrency, run)
    finally:
        await pool.close()
        components.executor.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=24, help="distinct cards to register")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--registrations", type=int, default=24, help="per concurrency level")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        folder = Path(tmp)
        cluster = PostgresCluster(folder / "pg")
        cluster.ensure_initialized()
        cluster.start()
        try:
            database_url = asyncio.run(
                create_database(cluster.dsn(), f"bench_{uuid.uuid4().hex[:6]}")
            )
            asyncio.run(bench(args, database_url, folder / "store"))
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
