"""Numbered schema migrations, recorded in the database and safe to run twice.

Each is a name and a script, applied in order; the names applied are kept in `migrations`.
"""

from __future__ import annotations

import logging

import aiosqlite

__all__ = ["MIGRATIONS", "migrate"]

logger = logging.getLogger(__name__)

MIGRATIONS: list[tuple[str, str]] = [
    # Users, conversations, subscriptions and the funnel.
    (
        "m001_initial",
        """
    CREATE TABLE users (
        user_id     INTEGER PRIMARY KEY,
        lang        TEXT NOT NULL,
        first_seen  TEXT NOT NULL,
        source      TEXT,
        first_name  TEXT,
        username    TEXT
    );
    CREATE TABLE conversations (
        user_id     INTEGER PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
        state       TEXT NOT NULL,
        step        INTEGER NOT NULL DEFAULT 0,
        updated_at  TEXT NOT NULL
    );
    CREATE TABLE subscriptions (
        user_id          INTEGER PRIMARY KEY REFERENCES users(user_id) ON DELETE CASCADE,
        status           TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'blocked')),
        consent_at       TEXT NOT NULL,
        consent_method   TEXT NOT NULL,
        consent_version  TEXT NOT NULL,
        source           TEXT,
        changed_at       TEXT NOT NULL,
        change_method    TEXT
    );
    CREATE INDEX subscriptions_by_status ON subscriptions(status, consent_at);
    CREATE INDEX subscriptions_by_consent ON subscriptions(consent_at);
    -- One row per user and step, the first time: enough for a funnel, no record of content.
    CREATE TABLE funnel_events (
        user_id  INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        step     TEXT NOT NULL,
        at       TEXT NOT NULL,
        PRIMARY KEY (user_id, step)
    ) WITHOUT ROWID;
    CREATE INDEX funnel_events_by_step ON funnel_events(step, at);
    """,
    ),
    # Declined questions for organizers, and anonymous counters.
    (
        "m002_questions",
        """
    -- Questions the bot declined, scrubbed of personal details, with nothing naming who asked.
    CREATE TABLE unanswered_questions (
        id        INTEGER PRIMARY KEY,
        lang      TEXT NOT NULL,
        question  TEXT NOT NULL,
        asked_at  TEXT NOT NULL
    );
    CREATE INDEX unanswered_by_time ON unanswered_questions(asked_at);
    -- Anonymous daily counters (answered, declined, urgent...).
    CREATE TABLE daily_counts (
        day    TEXT NOT NULL,
        name   TEXT NOT NULL,
        count  INTEGER NOT NULL,
        PRIMARY KEY (day, name)
    ) WITHOUT ROWID;
    """,
    ),
    # The audit log of role-protected actions.
    (
        "m003_audit",
        """
    -- Who did what with the protected commands: exports, broadcasts, reviews.
    CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        actor_id  INTEGER NOT NULL,
        action    TEXT NOT NULL,
        detail    TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_by_actor ON audit_log(actor_id);
    """,
    ),
    # Broadcast drafts and the per-recipient outbox.
    (
        "m004_broadcasts",
        """
    -- A broadcast: a draft until "Send" moves it to 'sending', exactly once.
    CREATE TABLE broadcasts (
        id                 INTEGER PRIMARY KEY,
        author_id          INTEGER,
        chat_id            INTEGER,
        state              TEXT NOT NULL
                           CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
        kind               TEXT CHECK (kind IN ('text', 'copy')),
        text               TEXT,
        from_chat_id       INTEGER,
        message_id         INTEGER,
        lang               TEXT,
        created_at         TEXT NOT NULL,
        started_at         TEXT,
        finished_at        TEXT,
        status_message_id  INTEGER
    );
    CREATE INDEX broadcasts_by_state ON broadcasts(state, id);
    -- The outbox: one row per recipient. 'sending' is committed before the request goes out,
    -- so a row found 'sending' after a crash may have arrived and becomes 'unknown'.
    CREATE TABLE broadcast_recipients (
        broadcast_id  INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
        user_id       INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        chat_id       INTEGER NOT NULL,
        state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN
                      ('pending', 'sending', 'sent', 'blocked', 'failed', 'unknown')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       REAL NOT NULL DEFAULT 0,
        error         TEXT,
        PRIMARY KEY (broadcast_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX broadcast_recipients_due ON broadcast_recipients(broadcast_id, state, next_at);
    CREATE INDEX broadcast_recipients_by_user ON broadcast_recipients(user_id);
    """,
    ),
    # Funnel totals for admin statistics.
    (
        "m005_admin",
        """
    -- Users per funnel step, kept by triggers so /stats need not count a million rows.
    CREATE TABLE funnel_totals (
        step   TEXT PRIMARY KEY,
        count  INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO funnel_totals (step, count)
        SELECT step, count(*) FROM funnel_events GROUP BY step;
    CREATE TRIGGER funnel_totals_add AFTER INSERT ON funnel_events BEGIN
        INSERT INTO funnel_totals (step, count) VALUES (NEW.step, 1)
            ON CONFLICT (step) DO UPDATE SET count = count + 1;
    END;
    -- Also fires for the cascade when a user erases their data.
    CREATE TRIGGER funnel_totals_remove AFTER DELETE ON funnel_events BEGIN
        UPDATE funnel_totals SET count = count - 1 WHERE step = OLD.step;
    END;
    """,
    ),
    # Declined questions carry the day only.
    (
        "m006_question_days",
        """
    -- A declined question keeps the day it was asked, not the second: a time would match
    -- the asker's own rows.
    ALTER TABLE unanswered_questions RENAME COLUMN asked_at TO asked_on;
    UPDATE unanswered_questions SET asked_on = substr(asked_on, 1, 10);
    """,
    ),
    # Audiences, scheduling, buttons and what each broadcast achieved.
    (
        "m007_broadcast_plans",
        """
    -- Who a broadcast reaches besides its language (NULL: no condition), when it should go
    -- out, and the buttons under it. A scheduled broadcast is a ready draft with scheduled = 1
    -- (the state's CHECK predates it): it moves to 'sending' once, at send_at.
    ALTER TABLE broadcasts ADD COLUMN source TEXT;
    ALTER TABLE broadcasts ADD COLUMN acted INTEGER;
    ALTER TABLE broadcasts ADD COLUMN joined_days INTEGER;
    ALTER TABLE broadcasts ADD COLUMN send_at TEXT;
    ALTER TABLE broadcasts ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE broadcasts ADD COLUMN buttons TEXT NOT NULL DEFAULT '';
    -- A started broadcast's outbox is filled in chunks by user id: the last id filled, or
    -- NULL once every recipient has a row (and for broadcasts from before).
    ALTER TABLE broadcasts ADD COLUMN filled_to INTEGER;
    CREATE INDEX broadcasts_due ON broadcasts(scheduled, send_at) WHERE scheduled = 1;
    CREATE INDEX users_by_source ON users(source);
    -- Taps on a broadcast's buttons: counts only, nothing says who tapped.
    CREATE TABLE broadcast_taps (
        broadcast_id  INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
        button        TEXT NOT NULL,
        count         INTEGER NOT NULL,
        PRIMARY KEY (broadcast_id, button)
    ) WITHOUT ROWID;
    """,
    ),
]


async def migrate(db: aiosqlite.Connection) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    async with db.execute("SELECT name FROM migrations") as cursor:
        done = {row[0] async for row in cursor}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        # executescript commits first; wrap the script so a failure leaves nothing half-done.
        await db.executescript(
            f"BEGIN;\n{sql}\nINSERT INTO migrations VALUES ('{name}', datetime('now'));\nCOMMIT;"
        )
        logger.info("applied migration %s", name)
        applied.append(name)
    return applied
