"""The pure conversation flows, table-driven against the shipped campaign."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.content import Content, Texts
from flows.engine import Context, answer, handle
from flows.faq import FaqIndex, match_in_any
from flows.listen import Listener
from flows.models import (
    Command,
    Conversation,
    Count,
    DeleteUser,
    Event,
    Funnel,
    KeepUnanswered,
    Outcome,
    Press,
    Profile,
    RecordFunnel,
    SetSource,
    State,
    Status,
    Subscribe,
    Text,
    Unsubscribe,
    Unsupported,
)
from flows.text import fold
from storage.content import load_content
from tests.conftest import CONTENT_DIR

VERSION = f"{load_content(CONTENT_DIR).campaign.consent_version}/en"


@pytest.fixture(scope="module")
def indexes(content: Content) -> dict[str, FaqIndex]:
    return {code: FaqIndex.from_content(content, code) for code in content.packs}


def run(
    content: Content,
    indexes: dict[str, FaqIndex],
    event: Event,
    *,
    status: Status = Status.NONE,
    source: str | None = None,
    conversation: Conversation | None = None,
) -> Outcome:
    profile = Profile(
        user_id=7,
        lang="en",
        first_seen=datetime(2026, 11, 1, tzinfo=UTC),
        status=status,
        source=source,
    )
    ctx = Context(content, profile, conversation or Conversation(), indexes, Listener(content))
    return handle(event, ctx)


def texts(content: Content) -> Texts:
    return content.pack("en").texts


@pytest.mark.parametrize(
    ("event", "status", "expected_text", "expected_effects"),
    [
        (Command(name="start"), Status.NONE, "welcome", [RecordFunnel(step=Funnel.STARTED)]),
        (
            Command(name="start", arg="flyer-dorchester"),
            Status.NONE,
            "welcome",
            [RecordFunnel(step=Funnel.STARTED), SetSource(source="flyer-dorchester")],
        ),
        # A payload Telegram would not allow (spaces, symbols) is not recorded.
        (
            Command(name="start", arg="<script> x"),
            Status.NONE,
            "welcome",
            [RecordFunnel(step=Funnel.STARTED)],
        ),
        (Command(name="help"), Status.NONE, "help", []),
        (Command(name="menu"), Status.NONE, "menu", []),
        (Command(name="frobnicate"), Status.NONE, "unknown_command", []),
        (Command(name="optins"), Status.NONE, "unknown_command", []),
        (
            Command(name="subscribe"),
            Status.NONE,
            "subscribed",
            [Subscribe(method="command", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (
            Command(name="subscribe"),
            Status.UNSUBSCRIBED,
            "subscribed",
            [Subscribe(method="command", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (Command(name="subscribe"), Status.ACTIVE, "already_subscribed", []),
        (
            Press(data="sub"),
            Status.NONE,
            "subscribed",
            [Subscribe(method="button", version=VERSION), RecordFunnel(step=Funnel.SUBSCRIBED)],
        ),
        (
            Command(name="unsubscribe"),
            Status.ACTIVE,
            "unsubscribed",
            [Unsubscribe(method="command")],
        ),
        (Command(name="unsubscribe"), Status.NONE, "not_subscribed", []),
        (Text(text="STOP"), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:stop")]),
        (Text(text="  stop! "), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:stop")]),
        (Text(text="Cancel"), Status.ACTIVE, "unsubscribed", [Unsubscribe(method="text:cancel")]),
        (Text(text="unsubscribe"), Status.NONE, "not_subscribed", []),
        (Text(text="help"), Status.ACTIVE, "help", []),
        (Press(data="no-such-button"), Status.NONE, "old_button", []),
        (Press(data="learn:99"), Status.NONE, "old_button", []),
        (Press(data="faq:no-such-entry"), Status.NONE, "old_button", []),
        (Press(data="lang:xx"), Status.NONE, "old_button", []),
        (Press(data="act:nonsense"), Status.NONE, "old_button", []),
        (Unsupported(kind="sticker"), Status.NONE, "unsupported_message", []),
        (Unsupported(kind="edited"), Status.NONE, "edited_message", []),
        (Text(text="x" * 2000), Status.NONE, "too_long", []),
        (
            Text(text="ICE is at my door. " + "please help " * 200),
            Status.NONE,
            "urgent",
            [Count(name="urgent")],
        ),
        (Press(data="learn:²"), Status.NONE, "old_button", []),
        (Text(text="🙂🙂"), Status.NONE, "no_words", []),
    ],
)
def test_replies_and_effects(
    content: Content,
    indexes: dict[str, FaqIndex],
    event: Event,
    status: Status,
    expected_text: str,
    expected_effects: list[object],
) -> None:
    outcome = run(content, indexes, event, status=status)
    wanted = content.fill(getattr(texts(content), expected_text))
    assert outcome.replies[0].text == wanted
    assert list(outcome.effects) == expected_effects


def test_first_source_is_kept(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Command(name="start", arg="poster"), source="flyer")
    assert not any(isinstance(e, SetSource) for e in outcome.effects)


def test_learn_walks_forward_and_back_and_counts_the_end(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    steps = content.pack("en").learn
    first = run(content, indexes, Command(name="learn"))
    assert steps[0].title in first.replies[0].text
    datas = [b.data for row in first.replies[0].buttons for b in row]
    assert "learn:1" in datas and "act" in datas and "ask" in datas
    assert not any(d and d.startswith("learn:") and d != "learn:1" for d in datas)
    for i in range(1, len(steps)):
        outcome = run(content, indexes, Press(data=f"learn:{i}"))
        assert outcome.conversation == Conversation(state=State.LEARNING, step=i)
        assert outcome.replies[0].edit
        assert steps[i].title in outcome.replies[0].text
        datas = [b.data for row in outcome.replies[0].buttons for b in row]
        assert f"learn:{i - 1}" in datas
        finished = RecordFunnel(step=Funnel.LEARNED) in outcome.effects
        assert finished == (i == len(steps) - 1)


def test_act_offers_every_way_and_confirms(content: Content, indexes: dict[str, FaqIndex]) -> None:
    links = content.campaign.values
    outcome = run(content, indexes, Command(name="act"))
    buttons = [b for row in outcome.replies[0].buttons for b in row]
    assert {b.data for b in buttons} >= {"act:call", "act:email", "act:done"}
    urls = [b.url for b in buttons if b.url]
    assert links["governor_form"] in urls
    assert any(u.startswith("https://t.me/share/url?") for u in urls)
    call = run(content, indexes, Press(data="act:call"))
    assert links["governor_phone"] in call.replies[0].text
    done = run(content, indexes, Press(data="act:done"))
    assert RecordFunnel(step=Funnel.ACTED) in done.effects
    assert any(b.data == "sub" for row in done.replies[0].buttons for b in row)


def test_delete_needs_confirmation(content: Content, indexes: dict[str, FaqIndex]) -> None:
    asked = run(content, indexes, Command(name="deleteme"))
    assert asked.conversation.state is State.CONFIRMING_DELETE
    assert not asked.effects
    confirming = Conversation(state=State.CONFIRMING_DELETE)
    yes = run(content, indexes, Press(data="del:yes"), conversation=confirming)
    assert yes.effects == (DeleteUser(),)
    # A "yes" pressed on an old prompt, outside the confirmation, erases nothing.
    stale = run(content, indexes, Press(data="del:yes"))
    assert DeleteUser() not in stale.effects
    no = run(content, indexes, Press(data="del:no"), conversation=confirming)
    assert not no.effects


def test_mydata_shows_what_is_stored(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Command(name="mydata"), status=Status.ACTIVE, source="flyer")
    text = outcome.replies[0].text
    assert "7" in text and "flyer" in text and texts(content).status_active in text


def test_free_text_answers_from_the_knowledge_file(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(
        content, indexes, Text(text="What is the difference between arrested and convicted?")
    )
    entry = indexes["en"].get("arrest-not-conviction")
    assert entry is not None
    assert content.fill(entry.answer) in outcome.replies[0].text
    assert RecordFunnel(step=Funnel.ASKED) in outcome.effects


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("quien presiono al gobernador para que dijera que no", "coalition-win"),
        ("qual foi a decisao do governador", "governor-decision"),
    ],
)
def test_a_question_in_another_language_gets_this_languages_answer(
    content: Content, indexes: dict[str, FaqIndex], question: str, entry_id: str
) -> None:
    english_only = run(content, {"en": indexes["en"]}, Text(text=question))
    fallback = content.fill(texts(content).faq_fallback, question_days="90")
    assert english_only.replies[0].text == fallback  # the English index alone cannot read it
    outcome = run(content, indexes, Text(text=question))
    entry = indexes["en"].get(entry_id)
    assert entry is not None
    assert content.fill(entry.answer) in outcome.replies[0].text


def test_an_english_question_is_not_answered_by_another_languages_index(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    question = "how do i call my bank"
    assert indexes["es"].match(question).answered  # Spanish alone would answer it: wrongly
    outcome = run(content, indexes, Text(text=question))
    assert outcome.replies[0].text == content.fill(texts(content).faq_fallback, question_days="90")


def test_a_question_for_a_lawyer_in_another_language_is_referred(
    indexes: dict[str, FaqIndex],
) -> None:
    question = "o pedido de cidadania do meu marido foi negado, da pra recorrer"
    assert not indexes["en"].match(question).referral  # English alone only declines it
    assert match_in_any(indexes, "en", question).referral


def test_gibberish_is_declined_honestly(content: Content, indexes: dict[str, FaqIndex]) -> None:
    outcome = run(content, indexes, Text(text="qwzx vbnm plok"))
    assert outcome.replies[0].text == content.fill(texts(content).faq_fallback, question_days="90")


@pytest.mark.parametrize(
    "message",
    [
        "ICE is at my door",
        "two immigration officers outside the house asking where my son is",
        "unos federales esperando afuera del trabajo",
        "A IMIGRACAO LEVOU MINHA VIZINHA AGORA",
        "la migra se llevó a mi esposo hace rato",
        "inmigarcion esta tocando la puerta",  # a typo
        "help they took my husband, ICE",
    ],
)
def test_emergencies_get_the_hotline_first_and_nothing_is_kept(
    content: Content, indexes: dict[str, FaqIndex], message: str
) -> None:
    outcome = run(content, indexes, Text(text=message))
    assert outcome.replies[0].text == content.fill(texts(content).urgent)
    assert Count(name="urgent") in outcome.effects
    assert not any(isinstance(e, KeepUnanswered | RecordFunnel) for e in outcome.effects)


def test_a_bare_actor_gets_the_hotline_and_a_button_to_what_the_word_means(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(content, indexes, Text(text="ICE"))
    reply = outcome.replies[0]
    assert reply.text == content.fill(texts(content).urgent)
    assert "faq:who-is-ice" in [button.data for row in reply.buttons for button in row]
    assert not any(isinstance(e, KeepUnanswered | RecordFunnel) for e in outcome.effects)
    # A sentence is an emergency told, not a word asked about: the hotline alone.
    for message in ("ICE is at my door right now", "migra aqui"):
        told = run(content, indexes, Text(text=message))
        assert told.replies[0].text == content.fill(texts(content).urgent)
        assert not any(
            button.data.startswith("faq:") for row in told.replies[0].buttons for button in row
        )


@pytest.mark.parametrize(
    "message",
    [
        "what do people mean by la migra",
        "¿qué quiere decir que alguien está detenido?",
        "o que significa ser detido?",
        "what did the coalition do to win?",
        "if i get arrested do my fingerprints go to ICE?",
    ],
)
def test_calm_questions_about_the_same_words_are_not_emergencies(
    content: Content, indexes: dict[str, FaqIndex], message: str
) -> None:
    outcome = run(content, indexes, Text(text=message))
    assert outcome.replies[0].text != content.fill(texts(content).urgent)
    assert Count(name="urgent") not in outcome.effects


@pytest.fixture(scope="module")
def listener(content: Content) -> Listener:
    return Listener(content)


@pytest.mark.parametrize(
    "message",
    [
        # An event noun stands for the enforcers: raid, checkpoint, operativo, retén, blitz.
        pytest.param("they raided the car wash my cousin works at", id="event-en"),
        pytest.param("hay un reten de migracion en la salida del pueblo", id="event-es"),
        pytest.param("tem blitz da imigracao na saida da cidade", id="event-pt"),
        # "there is" + an actor.
        pytest.param("theres agents at the laundromat on main st", id="there-is-en"),
        # An actor at a place: any "is at", and everyday places (bodega, colmado, lava jato).
        pytest.param("ICE is at my grandma's house", id="is-at-en"),
        pytest.param("feds at the bodega asking everybody for id", id="place-en"),
        pytest.param("hay uniformados en el colmado pidiendo papeles", id="place-es"),
        pytest.param("a imigracao ta na padaria pedindo documento", id="place-pt"),
        # Regional names for the enforcers and their look.
        pytest.param("los de migracion andan en el barrio tocando puertas", id="migracion-es"),
        pytest.param("la perrera anda rondando la cuadra", id="perrera-es"),
        pytest.param("a dude in a green uniform is checking papers at the train", id="uniform"),
        # Vehicles blocking, people jumping out; raids as verbs (invade, stormed, cayó, caiu).
        pytest.param("3 unmarked cars blocking our driveway, guys in vests getting out", id="van"),
        pytest.param("cayo la migra en la obra, todos corriendo", id="cayo-es"),
        pytest.param("os federais invadiram o predio aqui do lado", id="invadir-pt"),
        pytest.param("cercaram a casa do meu vizinho, tem uns caras de colete", id="cercar-pt"),
        pytest.param("me tienen rodeado el edificio, son de inmigracion", id="rodear-es"),
        # Taking someone, in slang and misspelt: cogieron, trincaron, detubieron, pegaram.
        pytest.param("lo cogieron a mi pana en la bomba, estaba en el carwash", id="coger-es"),
        pytest.param("trincaron a mi viejo en el taller", id="trincar-es"),
        pytest.param("detubieron a mi hermanito saliendo de la escuela", id="b-for-v-es"),
        pytest.param("tan sacando gente de los apartamentos de enfrente", id="sacar-es"),
        pytest.param("se estan llevando a unos muchachos de la esquina", id="llevarse-es"),
        pytest.param("acabaram de prender meu padrasto na obra", id="acabaram-pt"),
        pytest.param("deixaram meu marido preso no check-in", id="held-pt"),
        pytest.param("tao pegando a galera na saida do metro", id="pessoal-pt"),
        pytest.param("immigration stopped my brother in law and they keeping him", id="kept-en"),
        pytest.param("they rounding up people at the farm", id="rounding-en"),
        # Kin and neighbours in slang: mi jefa, mi cipote, mi bicho, minha coroa, my bf.
        pytest.param("se llevaron a mi jefa del trabajo, la subieron a una camioneta", id="jefa"),
        pytest.param("agarraron a mi cipote en la parada del bus", id="cipote-es"),
        pytest.param("levaram minha coroa do trabalho agora pouco", id="coroa-pt"),
        pytest.param("they got my bf at the home depot parking lot", id="bf-en"),
        # Ongoing: for an hour, lleva una hora, faz uma hora; a lawyer needed now.
        pytest.param(
            "tem uma viatura e um carro preto parado na porta faz uma hora", id="an-hour-pt"
        ),
        pytest.param("they took my tio at work, we need a lawyer", id="lawyer-en"),
        # A message that is only an actor, with a word at most: a call for help.
        pytest.param("ICE", id="actor-alone"),
        pytest.param("migra aqui", id="actor-and-a-word"),
        # Fear with enforcement present is still an emergency.
        pytest.param("tengo miedo, la migra esta en la puerta", id="fear-and-presence-es"),
    ],
)
def test_the_listener_hears_each_family_of_emergency(listener: Listener, message: str) -> None:
    assert listener.hear(message).urgent


@pytest.mark.parametrize(
    "message",
    [
        # Ice that is frozen water, and films, dreams, habits: even with "this morning".
        pytest.param("the roads are icy this morning be careful everyone", id="weather"),
        pytest.param("the ice cream truck is outside lol", id="ice-cream"),
        pytest.param("we watched a movie about ice raids in class today", id="movie-en"),
        pytest.param("vi una pelicula sobre la migra y me dio miedo", id="movie-es"),
        pytest.param("sonhei que a imigracao pegou meu filho", id="dream-pt"),
        pytest.param(
            "my kid gets nervous every time a police car drives by, what do i say", id="habit"
        ),
        pytest.param("cada vez que veo una camioneta negra me pongo nerviosa", id="habit-es"),
        pytest.param("toda vez que vejo uma viatura fico nervosa", id="habit-pt"),
        # Asking how a thing works, whether police work with ICE, or about a whole state.
        pytest.param("como funciona un reten de inmigracion", id="how-es"),
        pytest.param("como e uma blitz da imigracao", id="how-pt"),
        pytest.param("does ice work with the local police in worcester", id="cooperation"),
        pytest.param("la policia de aqui trabaja con la migra?", id="cooperation-es"),
        pytest.param("tem blitz da imigracao nos estados unidos todo?", id="country-pt"),
        pytest.param("tem blitz de transito na route 9 hoje? to atrasado", id="traffic-pt"),
        # Someone held for months, a court date next month, money for commissary.
        pytest.param("mi hermano esta detenido desde enero, como le deposito", id="since-es"),
        pytest.param("my brother has been detained since march, can i send money", id="since"),
        pytest.param("meu primo tem audiencia na corte de imigracao mes que vem", id="next"),
        # A what-if with the actor named.
        pytest.param("que pasa si inmigracion se lleva a alguien del edificio", id="if-es"),
        # Everyday words the emergency families use.
        pytest.param("the guys are asking about the rally next saturday", id="asking"),
        pytest.param("mi tio esta en el hospital, hay ayuda para pagar?", id="esta-en"),
        # Asking what an actor is, in two words; a what-if about "someone".
        pytest.param("whats dhs", id="whats-actor"),
        pytest.param(
            "si a alguien lo arrestan y lo sueltan sin cargos igual mandan las huellas a ice",
            id="if-someone-es",
        ),
        # A word the organizers wrote is not a typo of a listed one ("continuar", "continuam").
        pytest.param("o documento nao chegou ainda, posso continuar trabalhando?", id="own-word"),
        # A word people often type is not a typo either ("talking" is not "taking").
        pytest.param("which minor offenses are they talking about", id="typed-word"),
        # Fear of the police or of ICE, without them being there, is a question.
        pytest.param("im afraid to call the police because of ICE", id="fear-en"),
        pytest.param("mi prima tiene miedo de llamar a la policia x la migra", id="fear-es"),
        pytest.param("tenho medo desse bot ser do ice e me rastrear", id="fear-pt"),
        # A past arrest asked about the campaign; a what-if said to be one; help for a case.
        pytest.param(
            "my friend was arrested and ICE came to the jail, was this because of s-comm?",
            id="campaign",
        ),
        pytest.param(
            "if ICE comes to my door what do i do? just asking, nothing happening", id="aside"
        ),
        pytest.param(
            "my immigration situation is complicated, is there an org that can help me for free",
            id="can-help",
        ),
        pytest.param("is daca still taking new applications", id="application"),
    ],
)
def test_the_listener_keeps_calm_words_calm(listener: Listener, message: str) -> None:
    assert not listener.hear(message).urgent


def test_an_overlong_emergency_still_gets_the_hotline(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(content, indexes, Text(text="ICE is outside my building right now. " * 60))
    assert outcome.replies[0].text == content.fill(texts(content).urgent)


@pytest.mark.parametrize(
    ("question", "secrets"),
    [
        ("my A-number is A123-456-789, is the food bank open today", ["123-456-789"]),
        ("this is Rosalba Quintanilla, when does the food bank open", ["Rosalba", "Quintanilla"]),
        (
            "vivo en calle Bennington 22 con mi esposa Marisol, el dueño sube la renta",
            ["Bennington", "Marisol"],
        ),
        ("aqui é a Fernanda da Rua Meridian, o aluguel pode subir?", ["Fernanda", "Meridian"]),
        (
            "nací el 12 de agosto de 1990 en Zacatecoluca, cuando cierra el consulado",
            ["1990", "Zacatecoluca"],
        ),
        (
            "my cousin Rosendo is undocumented and needs a food bank, where is one",
            ["Rosendo", "undocumented"],
        ),
    ],
)
def test_declined_questions_keep_no_personal_detail(
    content: Content, indexes: dict[str, FaqIndex], question: str, secrets: list[str]
) -> None:
    outcome = run(content, indexes, Text(text=question))
    kept = [e.question for e in outcome.effects if isinstance(e, KeepUnanswered)]
    assert kept, "the question was declined and kept"
    for secret in secrets:
        assert secret.lower() not in kept[0].lower(), secret
    assert "[…]" in kept[0] or "[removed]" in kept[0]


@pytest.mark.parametrize(
    ("lang", "question", "town"),
    [
        ("pt", "moro em framingham, tem feira de emprego la sabado?", "framingham"),
        ("es", "vivo en chelsea, donde hay clases de ingles gratis", "chelsea"),
        ("en", "i live in framingham, wheres a good laundromat", "framingham"),
    ],
)
def test_a_town_the_phrasings_mention_is_not_kept_from_a_declined_question(
    content: Content, indexes: dict[str, FaqIndex], lang: str, question: str, town: str
) -> None:
    # Phrasings are written as people type, towns included: their words are not the
    # campaign's own, which a kept question may keep.
    assert any(town in fold(q) for entry in content.pack(lang).faq for q in entry.questions)
    profile = Profile(user_id=7, lang=lang, first_seen=datetime(2026, 11, 1, tzinfo=UTC))
    ctx = Context(content, profile, Conversation(), indexes, Listener(content))
    outcome, verdict = answer(ctx, question)
    kept = [e.question for e in outcome.effects if isinstance(e, KeepUnanswered)]
    assert verdict.kind == "declined" and kept
    assert town not in fold(kept[0])


def test_declined_questions_are_kept_without_who_asked(
    content: Content, indexes: dict[str, FaqIndex]
) -> None:
    outcome = run(content, indexes, Text(text="will it rain in boston tomorrow"))
    assert KeepUnanswered(question="will it […] in […]", lang="en") in outcome.effects
    assert Count(name="declined") in outcome.effects
    answered = run(content, indexes, Text(text="What is S-Comm?"))
    assert Count(name="answered") in answered.effects
