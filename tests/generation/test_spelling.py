"""Customers' typos mended against the knowledge base's words."""

from __future__ import annotations

from generation.knowledge.edits import edit_distance
from generation.knowledge.spelling import Speller

ARTICLES = ["Your membership renews every year. You receive an email before it does.", "Promo codes: FIRSTRIDE."]


def test_typos_of_the_articles_words_are_mended() -> None:
    speller = Speller(ARTICLES, english=dict.fromkeys(["how", "much", "is", "the", "when", "do", "i", "my"], 10**5))
    assert speller.correct("how much is the memebership") == "how much is the membership"
    assert speller.correct("when do i recieve my email") == "when do i receive my email"


def test_two_swapped_letters_mend_to_the_word_with_those_letters() -> None:
    speller = Speller(["Contact us to end your contract. Contact us, contact us."], english={})
    assert speller.correct_word("contarct") == "contract"  # not the commoner "contact", also one edit away
    assert speller.correct_word("contcat") == "contact"


def test_real_words_the_articles_lack_are_left_alone() -> None:
    speller = Speller(ARTICLES, english=dict.fromkeys(["stove", "wait", "want"], 10**5))
    assert speller.correct("my stove") == "my stove"  # "store" is not in the articles either way
    assert speller.correct("I want") == "I want"
    assert speller.correct("xyzzy") == "xyzzy"  # nothing close


def test_a_rare_english_word_that_is_theirs_with_a_letter_typed_twice_is_theirs() -> None:
    speller = Speller(["Get your money back in 5 days."], english={"mooney": 101, "money": 665_532, "bass": 9_350})
    # A surname English hardly uses, where the articles' far commoner word fits: "the mooney back".
    assert speller.correct("can i get the mooney back") == "can i get the money back"
    # A word English uses often stays what it is.
    assert speller.correct_word("bass") is None


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("recieve", "receive") == 1
    assert edit_distance("memebership", "membership") == 1
    assert edit_distance("cat", "dog") == 3


def test_what_the_articles_never_mention_is_named() -> None:
    speller = Speller(
        ARTICLES,
        english={
            **dict.fromkeys(["sell", "do", "you", "when", "is", "it", "can", "pay", "with", "my"], 10**5),
            "kayaks": 100,
            "accessible": 200,
            "cheap": 10**4,
        },
    )
    assert speller.unknown_topic("Do you sell kayaks?") == "kayaks"
    assert speller.unknown_topic("Is it accessible?") is None  # not a thing one asks about
    assert speller.unknown_topic("Is it the cheapest?") is None  # nor is a common word's superlative
    assert speller.unknown_topic("when do i recieve my email") is None  # a typo of the articles' word
    assert speller.unknown_topic("Can I pay with bitcoin?") == "bitcoin"  # not even an English word


def test_a_long_word_one_slip_from_a_rarer_english_word_is_read_as_it() -> None:
    english = {"providers": 358, "riverside": 120, "revolute": 150, "broiders": 50, "spreadsheet": 373}
    speller = Speller(ARTICLES, english=english)
    # Too rare for just any slip to be read as them, long enough for one slip; a word with
    # another first letter is no likelier reading ("broiders").
    assert speller.correct_word("prviders") == "providers"
    assert speller.correct_word("proiders") == "providers"
    assert speller.correct_word("spreadsheut") == "spreadsheet"
    assert speller.correct_word("rivrside") == "riverside"
    # A shorter one may be a name of its own: "revolut" is no "revolute" with a letter left out.
    assert speller.correct_word("revolut") is None


def test_a_typo_of_a_rarer_english_word_names_what_that_word_names() -> None:
    english = dict.fromkeys(["do", "you", "have", "my", "old", "it", "broke", "never"], 10**5)
    english |= {"tandem": 300, "pixel": 415, "stove": 5_000, "stave": 400, "arrived": 120_000, "arid": 400}
    speller = Speller([*ARTICLES, "Orders arrive in 3 days."], english=english)
    # The customer named a tandem, and is told nothing was found about a tandem, not "tandm".
    assert speller.unknown_topic("do you have tandm bikes?") == "tandem"
    assert speller.unknown_topic("my old pxiel") == "pixel"
    # A slip of a common word, or a near miss of the articles' word, names nothing.
    assert speller.unknown_topic("my stuve broke") is None
    assert speller.unknown_topic("it never arivd") is None


def test_how_the_customer_is_is_no_thing_the_articles_lack() -> None:
    english = dict.fromkeys(["i'm", "can", "i", "get", "a", "free", "meal", "my", "brother", "is", "pay"], 10**5)
    english |= {"celiac": 300, "paraplegic": 200, "bitcoin": 0}
    speller = Speller(ARTICLES, english=english)
    # A word ending a clause after "I'm" or "my brother is" tells how someone is.
    assert speller.unknown_topic("i'm celiac, can i get a free meal") is None
    assert speller.unknown_topic("where can i get one? my brother is paraplegic") is None
    # A thing named after them is still one.
    assert speller.unknown_topic("i'm paying with bitcoin") == "bitcoin"
    assert speller.unknown_topic("is bitcoin ok?") == "bitcoin"


def test_a_little_word_run_into_the_next_is_read_as_two() -> None:
    english = dict.fromkeys(["how", "do", "i", "reset", "password", "for", "the", "it", "on", "time", "met"], 10**5)
    speller = Speller(["Your order ships in two days."], english=english | {"car": 10**5, "sharing": 10**5})
    assert speller.correct("how do i resetmy password") == "how do i reset my password"
    assert speller.correct("is myorder late") == "is my order late"  # the articles' word
    assert speller.correct("forthe tent") == "for the tent"
    # Two words of substance are a name's; a short word and a little one, a typo's.
    assert speller.correct("do you do carsharing") == "do you do carsharing"
    assert speller.correct("the metor") == "the metor"


def test_two_slips_of_one_of_the_commonest_english_words_name_nothing() -> None:
    english = dict.fromkeys(["can", "i", "get", "cash", "out", "pay", "with"], 10**5)
    english |= {"tomorrow": 248_063, "karma": 3_724}
    speller = Speller(ARTICLES, english=english)
    # "timorow" is "tomorrow" with two slips: the customer says when, and names nothing.
    assert speller.unknown_topic("can i get cash out timorow") is None
    # "klarna" is two slips from "karma" too, a word too rare for that to make it a typo of it.
    assert speller.unknown_topic("can i pay with klarna") == "klarna"


def test_what_the_customer_does_is_no_thing_the_articles_lack() -> None:
    english = dict.fromkeys(["who", "can", "i", "this", "to", "we", "our", "plan", "want", "my", "do", "you"], 10**5)
    english |= {"escalate": 1342, "downgrade": 333, "unsubscribe": 50, "broadband": 900}
    speller = Speller(ARTICLES, english=english)
    # Done by the customer, or done to something after "to": a way to do it may be in other words.
    assert speller.unknown_topic("who can I escalate this to?") is None
    assert speller.unknown_topic("can we downgrade our plan") is None
    assert speller.unknown_topic("i want to unsubscribe my email") is None
    # A thing named after a verb is still one: "do" there is what the company does.
    assert speller.unknown_topic("do you do broadband?") == "broadband"


def test_a_word_the_articles_use_only_as_a_possessive_is_theirs() -> None:
    english = dict.fromkeys(["can", "i", "use", "my", "own", "do", "you", "sell"], 10**5)
    english |= {"plumber": 900, "kayaks": 100}
    speller = Speller(["Send us your plumber's report and the customers' receipts."], english=english)
    # "plumber's report" names a plumber: nothing to say the help centre lacks.
    assert speller.unknown_topic("can i use my own plumber?") is None
    assert speller.unknown_topic("do you sell kayaks?") == "kayaks"


def test_how_something_is_is_no_thing_the_articles_lack() -> None:
    words = "my husband is very the sofa so do you sell can i return it if its it's not feels a bit method what"
    english = dict.fromkeys(words.split(), 10**5)
    english |= {"fussy": 900, "comfy": 800, "futons": 300, "problem": 10**5, "rust": 900, "lumpy": 700}
    english |= {"pricey": 800, "payment": 10**5, "bitcoin": 0}
    speller = Speller(ARTICLES, english=english)
    # After "very", or "so" after "is", a word says how something is: there is nothing to find.
    assert speller.unknown_topic("my husband is very fussy") is None
    assert speller.unknown_topic("the sofa is so comfy") is None
    assert speller.unknown_topic("do you sell very comfy futons?") == "futons"
    # So does one that ends a clause after "it's", "is it", "it feels", and one ending in "y"
    # after "the sofa is".
    assert speller.unknown_topic("can i return it if it's not comfy?") is None
    assert speller.unknown_topic("can i return it if its not comfy?") is None
    assert speller.unknown_topic("is it comfy?") is None
    assert speller.unknown_topic("it feels a bit pricey") is None
    assert speller.unknown_topic("the sofa is lumpy") is None
    # Otherwise "is" may be followed by a thing: still named, unless it tells how a person is
    # (``test_how_the_customer_is_is_no_thing_the_articles_lack``), as is what "what is" asks of.
    assert speller.unknown_topic("the problem is rust") == "rust"
    assert speller.unknown_topic("my payment method is bitcoin, ok?") == "bitcoin"
    assert speller.unknown_topic("what is bitcoin?") == "bitcoin"


def test_other_forms_of_the_articles_words_and_typos_of_english_ones_are_no_topic() -> None:
    speller = Speller(
        ["The student ID is verified by our partner. Re-proof your tent fly once a year."],
        english={
            **dict.fromkeys(["which", "company", "how", "often", "should", "got", "card", "for", "with"], 10**5),
            "christmas": 10**4,
        },
    )
    assert speller.unknown_topic("Which company verifies it?") is None  # "verified"
    assert speller.unknown_topic("How often should I reproof it?") is None  # "re-proof"
    assert speller.unknown_topic("got a card for chrismas") is None  # one letter from "christmas"
    assert speller.unknown_topic("Can I pay with bitcoin?") == "bitcoin"


def test_names_are_told_from_words_capitalised_only_at_a_sentence_start() -> None:
    speller = Speller(
        [
            "Sale items are final. We sell sale items online. Pay with PayPal. Spokes bikes are blue. Ride a Spokes bike."
        ],
        english={},
    )
    assert speller.ordinary("Sale")  # also written in lower case, never capitalised mid-sentence
    assert not speller.ordinary("Spokes")  # capitalised in mid-sentence: a name
    assert not speller.ordinary("PayPal")
    assert not speller.ordinary("Helmet")  # never written at all


def test_chat_words_read_as_the_english_ones_unless_the_articles_use_them() -> None:
    english = {"ur": 1403, "wat": 680, "phones": 21492}
    speller = Speller(["How much is the bill? Call us on your phone."], english=english)
    assert speller.correct("hw much r u charging, wat is ur price pls") == (
        "how much are you charging, what is your price please"
    )
    assert speller.correct("my fone bil doesnt work b4 noon") == "my phone bill doesn't work before noon"
    assert speller.correct("the bill n the phone") == "the bill and the phone"
    assert speller.correct("both fones aswell") == "both phones as well"
    # Short forms of a time: "mins" is no typo of a word of theirs ("mains").
    mains = Speller(["Turn off the mains water. We answer within 2 hours."], english={"mains": 2000})
    assert mains.correct("waited 40 mins, upto 2 hrs") == "waited 40 minutes, up to 2 hours"
    # Short forms of the words a claim or a booking turns on, and of the customer's people.
    assert speller.correct("my bf wanna send pics of the dmg 2 wks ago") == (
        "my boyfriend want to send photos of the damage 2 weeks ago"
    )
    assert speller.correct("dunno my acc number, do i hav to call") == "don't know my account number, do i have to call"
    assert speller.correct("my laptop at uni, tbh") == "my laptop at university, to be honest"
    assert speller.correct("i dont get payed until friday") == "i don't get paid until friday"
    # A base that writes "Plan UR" keeps its word.
    assert Speller(["Plan UR costs less."], english={}).correct("is ur cheaper") == "is ur cheaper"
    # ... but a letter of an abbreviation ("the U.S.") is no word of theirs.
    assert Speller(["Shipping within the U.S. is free."], english={}).correct("can u ship") == "can you ship"
    # Letters run into digits are a code: the night bus "N4" and route "u2" are not "and", "you".
    assert speller.correct("is the N4 late, or the u2? 3g gone") == "is the N4 late, or the u2? 3g gone"


def test_a_short_word_missing_a_doubled_letter_is_the_articles_word() -> None:
    speller = Speller(["Keep the bill. The fee is small."], english={"kep": 50, "fe": 573, "bi": 5000})
    assert speller.correct("kep my bil, what fe") == "keep my bill, what fee"
    # A short word common in English stays as written.
    assert speller.correct_word("bi") is None


def test_another_language_or_mashed_keys_are_unreadable_but_a_name_is_not() -> None:
    english = dict.fromkeys("how much is the cheapest plan el con mon my bill wrong".split(), 10**5)
    speller = Speller(["Our cheapest plan costs $25. Your bill shows every charge."], english=english)
    assert speller.unreadable("¿Cuánto cuesta el plan más barato?")
    assert speller.unreadable("Je voudrais annuler mon abonnement")
    assert speller.unreadable("asdf jkl qwer")
    assert speller.unreadable("我的账单")
    # One unknown word is a name, not another language; typos of the articles' words are theirs.
    assert not speller.unreadable("Klarna?")
    assert not speller.unreadable("how much is the cheapst plan")
    assert not speller.unreadable("my bill is wrong, Klarna charged twice")


def test_a_letter_left_out_is_the_likelier_slip() -> None:
    speller = Speller(["Book ahead. Head north. Head east. Fibre 1 Gig, 1 Gig, 1 Gig. We are going."], english={})
    assert speller.correct_word("aead") == "ahead"  # not the commoner "head", also one edit away
    assert speller.correct_word("goig") == "going"


def test_a_slip_seldom_changes_a_words_first_letter() -> None:
    speller = Speller(["Your confirmation email lists your meal. A meal, a meal, a meal. It is pending."], english={})
    assert speller.correct_word("emal") == "email"  # not the commoner "meal", its first two letters swapped
    speller = Speller(["Nothing is pending. Opening hours: opening at 9, opening at 10."], english={})
    assert speller.correct_word("pening") == "pending"  # not the commoner "opening", a first letter left out


def test_a_typo_of_a_day_or_month_is_read_as_it_and_named_as_no_topic() -> None:
    speller = Speller(["Our engineer visits from 8am to 6pm."], english={"sunny": 10**4})
    assert speller.correct("the engineer is coming Thursay") == "the engineer is coming thursday"
    assert speller.correct("moving on wensday, back in Febuary") == "moving on wednesday, back in february"
    assert speller.correct("a metro on frodays?") == "a metro on fridays?"
    assert speller.correct("open on sundys? or sundy") == "open on sundays? or sunday"
    assert speller.correct_word("ridars") is None  # two slips from "fridays"; "friday" takes one
    assert speller.unknown_topic("the engineer is coming Thursay") is None
    assert speller.correct_word("sunny") is None  # an English word, not "sunday"


def test_a_word_english_hardly_uses_with_a_letter_left_out_is_the_articles_word() -> None:
    english = {"paring": 235, "pone": 116, "dose": 10621, "does": 10**6, "parking": 10**5, "phone": 10**5}
    speller = Speller(["Parking fines apply. Call us from your phone. What does it cost?"], english=english)
    assert speller.correct("3 paring fines, call from my pone") == "3 parking fines, call from my phone"
    assert speller.correct_word("dose") is None  # a word English uses: left as written
    assert speller.correct_word("parking") is None


def test_british_spellings_and_words_around_a_question_are_no_topic() -> None:
    english = {
        **dict.fromkeys(["can", "i", "pay", "by", "my", "good", "the", "is", "of", "at", "a"], 10**5),
        **dict.fromkeys(["check", "neighbor", "color", "favorite", "jewelry", "center"], 10**4),
        "afternoon": 50,  # as pyspellchecker counts it
        "kayaks": 100,
    }
    speller = Speller(ARTICLES, english=english)
    assert speller.unknown_topic("Can I pay by cheque?") is None
    assert speller.unknown_topic("my neighbour's favourite jewellery") is None
    assert speller.unknown_topic("Good afternoon, can I pay by kayaks?") == "kayaks"
    assert speller.unknown_topic("Can I pay by cheque on Thursday?") is None  # "thursday": 673
    assert not speller.unreadable("my neighbour's favourite colour at the centre")
    assert speller.english_count("colour") == 10**4 and speller.english_count("xyzzy") == 0


def test_a_letter_left_out_and_two_swapped_is_the_articles_word() -> None:
    speller = Speller(
        ["Weigh your suitcase. The Family Guard app. The toilet is at the back. Enter the amount."], english={}
    )
    assert speller.correct("my siutcse") == "my suitcase"
    assert speller.correct_word("faliy") == "family"
    # A letter left out and another changed makes other words as often: left as written.
    assert speller.correct_word("ticet") is None  # "ticket" is no word of these articles; "toilet" is
    assert speller.correct_word("acunt") is None  # nor "account"; "amount" is
    assert speller.correct_word("siutcase") == "suitcase"  # one slip: the nearer word, as before


def test_two_letters_left_out_of_a_long_word_is_the_articles_word() -> None:
    speller = Speller(["Delivery is free. Call customer service. Keep it 10 cm from a radiator."], english={})
    assert speller.correct("how much is delivy for a sofa") == "how much is delivery for a sofa"
    assert speller.correct_word("cstmer") == "customer"
    assert speller.correct_word("radior") == "radiator"
    # Not a short word, nor one whose first letter is another, nor one two words fit, nor one
    # a single slip makes of another word ("radior": "radio").
    assert speller.correct_word("cstmr") is None
    assert speller.correct_word("elivey") is None
    assert Speller(["It was marketed by our marketer."], english={}).correct_word("markee") is None
    assert Speller(["Keep it 10 cm from a radiator or a radio."], english={}).correct_word("radior") == "radio"


def test_of_equally_near_words_the_one_the_articles_write_beside_the_typos_neighbour_goes_first() -> None:
    speller = Speller(
        [
            "We price match. Email pricematch@example.com for a price match. How much is it? Much of it is free, and so much more."
        ],
        english={},
    )
    assert speller.correct("a prica mutch request") == "a price match request"
    assert speller.correct("how mutch is it") == "how much is it"
    # Alone, or beside a word the articles never write it next to, the commoner word.
    assert speller.correct_word("mutch") == "much"
    assert speller.correct("the mutch") == "the much"
    # A stopword beside it says nothing: "change to" is no sign that "chage to" is "change".
    charges = Speller(["We charge a fee. We charge £5 for it. You can change to another plan."], english={})
    assert charges.correct("how much do you chage to take it away") == "how much do you charge to take it away"


def test_a_typo_is_never_named_as_something_the_articles_lack() -> None:
    english = {
        **dict.fromkeys(
            ["can", "i", "it", "to", "the", "way", "what's", "do", "you", "have", "bikes", "work", "ship"], 10**5
        ),
        "cheapest": 2530,  # as pyspellchecker counts these
        "tandem": 900,
        "whits": 50,
        "germany": 340,
        "german": 10**5,
    }
    speller = Speller(["You can switch fares. Random checks apply. The cheaper way."], english=english)
    assert speller.unknown_topic("what's the cheopest way") is None  # a typo of "cheapest"
    assert speller.unknown_topic("it diidnt work") is None  # of the chat word "didnt"
    assert speller.unknown_topic("can i swach it") is None  # a near miss of "switch", too unsure to mend
    assert speller.correct_word("swach") is None
    # A word English hardly uses one edit from a chat word is its typo; from an English word,
    # it may be a name of its own.
    assert speller.unknown_topic("whits going on") is None
    assert speller.unknown_topic("do you ship to germany") == "germany"
    # Two letters changed are another word: "tandem" is not "random".
    assert speller.unknown_topic("do you have tandem bikes") == "tandem"


def test_a_hyphenated_word_written_as_one_is_the_articles_word() -> None:
    speller = Speller(
        ["An e-bike ride costs more than a bike ride. Wi-Fi is free at check-in."],
        english=dict.fromkeys(["how", "much", "is", "an", "ride", "the", "free", "at"], 10**5),
    )
    assert speller.correct("how much is an ebike ride") == "how much is an e-bike ride"  # not "an bike"
    assert speller.correct("is the wifi free at checkin") == "is the wi-fi free at check-in"
    assert speller.correct_word("ebikes") == "e-bikes"
    assert speller.unknown_topic("how much is an ebike ride") is None


def test_a_typo_of_a_common_english_word_the_articles_lack_is_mended_to_it() -> None:
    english = {"hospital": 10**5, "cheapest": 2530, "plane": 10**5, "planned": 5 * 10**4, "auto": 10**4}
    english |= {"pay": 10**5, "autopsy": 10**4, "what's": 10**5, "the": 10**6, "way": 10**5, "lounge": 4775}
    speller = Speller(["Day Pass: unlimited data for 24 hours."], english=english)
    assert speller.correct("what's the ceapest way") == "what's the cheapest way"
    assert speller.correct_word("hosptal") == "hospital"
    assert speller.correct_word("planne") is None  # "plane" or "planned": too close to call
    assert speller.correct_word("autopay") is None  # two words as one, not "autopsy"
    # What the articles lack is named as the customer meant it: "lounge", not "lougne".
    assert speller.correct("is there a lougne?") == "is there a lounge?"
    # Names English lacks stay as written: short ones, a first letter, a letter too many.
    speller = Speller([], english={"venom": 5000, "belle": 5000, "revolt": 5000, "phone": 10**5})
    assert [speller.correct_word(w) for w in ["venmo", "zelle", "revolut", "iphone"]] == [None] * 4


def test_a_letter_typed_twice_is_the_english_word_and_named_as_it() -> None:
    english = {"germany": 340, "voucher": 799, "delivers": 4369, "ship": 10**5, "to": 10**6, "gift": 10**4}
    speller = Speller(["We ship to the EU. Delivery is free. Gift cards never expire."], english=english)
    assert speller.correct_word("Geermany") == "germany"
    # One slip beats two: not the articles' "delivery", two edits from "deliivers".
    assert speller.correct_word("deliivers") == "delivers"
    # What the articles lack is named as the word the customer meant.
    assert speller.unknown_topic("do you ship to Geermany?") == "Germany"
    assert speller.unknown_topic("a gift vouucher?") == "voucher"
    # A name whose single-letter form is no English word stays as written.
    assert speller.correct_word("zelle") is None
    assert speller.unknown_topic("can i pay with zelle") == "zelle"


def test_a_rare_english_word_one_slip_from_a_far_commoner_one_is_its_typo() -> None:
    english = {"sill": 545, "still": 2 * 10**6, "kayak": 556, "kayaks": 100, "back": 10**6, "send": 10**5}
    speller = Speller(["You can still send it back within 30 days. We rent tents."], english=english)
    assert speller.correct("can i sill send it back") == "can i still send it back"
    assert speller.unknown_topic("can i sill send it back") is None  # not "I couldn't find anything about sill"
    # A rare word with no far commoner one a slip away names a thing: the articles lack kayaks.
    assert speller.correct_word("kayaks") is None
    assert speller.unknown_topic("do you rent kayaks") == "kayaks"


def test_a_typo_of_a_hyphenated_word_written_as_one_is_the_articles_word() -> None:
    speller = Speller(
        ["Re-proof your tent fly once a year. An e-bike costs more."],
        english=dict.fromkeys(["how", "often", "should", "i", "my", "tent", "fly", "an"], 10**5),
    )
    assert speller.correct("how often should i reproef my tent fly") == "how often should i re-proof my tent fly"
    assert speller.correct_word("ebkie") == "e-bike"
    assert speller.unknown_topic("how often should i reproef my tent fly") is None


def test_a_short_word_a_letter_short_of_a_very_common_english_one_is_that_word() -> None:
    english = {"until": 760_201, "money": 665_532, "would": 10**6, "where": 3_669_452, "whore": 4_156_502}
    english |= {"ticket": 46_606, "tick": 4_774, "easy": 227_166, "left": 901_370, "arrives": 10**4}
    english |= dict.fromkeys(["how", "many", "days", "it"], 10**6)
    speller = Speller(["Orders arrive in 3 to 5 business days."], english=english)
    assert speller.correct("how many days unil it arrives") == "how many days until it arrives"
    assert [speller.correct_word(w) for w in ["mney", "woud"]] == ["money", "would"]
    assert speller.correct_word("whre") is None  # "where" or another word as common: too close to call
    assert speller.correct_word("tickt") is None  # "ticket" is not common enough
    # Names this short stay as written: no letter makes a common word of them.
    assert [speller.correct_word(w) for w in ["etsy", "lyft", "hulu"]] == [None] * 3


def test_a_short_word_a_letter_changed_from_a_very_common_english_one_is_that_word() -> None:
    english = {"weeks": 153_610, "spend": 207_453, "sound": 265_451, "songs": 30_488, "venom": 4_257}
    english |= dict.fromkeys(["paid", "two", "ago", "i"], 10**6)
    speller = Speller(["Refunds take 5 business days."], english=english)
    assert speller.correct("i paid two weuks ago") == "i paid two weeks ago"
    assert speller.correct_word("spund") is None  # "spend" or "sound": too close to call
    # Names this short stay as written: a changed letter makes no very common word of them.
    assert [speller.correct_word(w) for w in ["sonos", "venmo", "zelle"]] == [None] * 3


def test_a_contraction_typed_without_its_apostrophe_and_with_a_slip_is_read_as_it() -> None:
    english = dict.fromkeys(["it", "work", "the", "price", "i", "get", "did"], 10**6)
    speller = Speller(["Your order ships in 2 days."], english=english)
    assert speller.correct("it dosent work") == "it doesn't work"
    assert speller.correct("whts the price") == "what's the price"
    assert speller.correct("i didt get it") == "i didn't get it"
    assert speller.correct_word("dodnt") == "didn't"  # "dont" is one slip away too, but too short to tell


def test_a_typo_of_a_british_spelling_is_mended_to_it() -> None:
    # pyspellchecker's list is American: "cheque" and "neighbour" count as "check" and "neighbor".
    english = {"check": 504_604, "neighbor": 16_060, "can": 10**6, "i": 10**6, "pay": 10**5, "by": 10**6}
    speller = Speller(["Orders arrive in 3 to 5 business days."], english=english)
    assert speller.correct("can i pay by ceque") == "can i pay by cheque"
    assert speller.correct_word("neigbour") == "neighbour"
    # A British word spelt right is no typo.
    assert speller.correct_word("neighbour") is None
    # Readings that count as one word are one reading: "spoend" counts as "spend" ("oe" as in
    # "manoeuvre"), and "speend" is "spend", not too close to call.
    speller = Speller([], english={"spend": 207_453, "speed": 67_832})
    assert speller.correct_word("speend") == "spend"
    # An "oe" at a word's end is no British spelling: "thoe" is not "the", nor "shoe" "she".
    speller = Speller([], english={"the": 10**7, "she": 10**6, "shoe": 23_500, "fetus": 2436})
    assert (speller.english_count("thoe"), speller.english_count("shoe")) == (0, 23_500)
    assert speller.english_count("foetus") == 2436


def test_a_double_letter_doubled_in_the_wrong_place_is_the_articles_word() -> None:
    english = dict.fromkeys(["is", "the", "for", "whole", "house", "cheap", "rate"], 10**5)
    speller = Speller(["Compare our tariff with the occasion rate. Our tariffs change."], english=english)
    assert speller.correct_word("tarrif") == "tariff"
    assert speller.correct_word("ocassion") == "occasion"
    # Never named as something the articles lack.
    assert speller.unknown_topic("is the cheap rate tarrif for the whole house?") is None


def test_a_name_that_is_a_common_word_with_a_letter_after_it_is_named() -> None:
    english = {"alex": 5000, "thanks": 10**5, "can": 10**6, "hook": 10**4, "up": 10**6, "to": 10**6}
    speller = Speller(["Your smart meter sends readings to the app."], english=english)
    # "alexa" is no slip of "alex": a slip seldom adds a last letter but the one before it.
    assert speller.unknown_topic("can i hook it up to alexa") == "alexa"
    assert speller.unknown_topic("thankss") is None


def test_the_initials_of_a_name_the_articles_use_often_stand_for_it() -> None:
    articles = [
        "Paying by Direct Debit. You can pay by Direct Debit. If a Direct Debit fails, we try again.",
        "The Warm Home Discount is £150. Apply for the Warm Home Discount online, as the Warm Home Discount helps.",
        # Named twice only: "pc" stays what customers mostly mean by it.
        "If you get Pension Credit, tell us. Pension Credit counts.",
        # A name the articles also write as its initials is found as written.
        "The Priority Services Register (PSR) is free. Join the Priority Services Register today. "
        "The Priority Services Register helps.",
        # A sentence's first word only marks its start: "Call Harbour" is no name.
        "Call Harbour Care on 0800. Call Harbour Care today. Call Harbour Care anytime.",
    ]
    speller = Speller(articles, english={"id": 6856})
    assert speller.correct("do you charge if my dd bounces") == "do you charge if my Direct Debit bounces"
    assert speller.correct("am i eligible for WHD?") == "am i eligible for Warm Home Discount?"
    assert speller.correct("my pc is slow") == "my pc is slow"
    assert speller.correct("how do i join the psr") == "how do i join the psr"
    assert speller.correct_word("chc") is None and speller.correct_word("hc") == "Harbour Care"
    assert speller.correct_word("id") is None


def test_a_customers_word_for_what_the_articles_call_otherwise_is_theirs() -> None:
    articles = [
        "A folding stroller can be taken to the gate. Strollers go in the hold.",
        "Your cabin bag must fit under the seat. Log in to add a checked bag.",
        "Sign in to the app to see your booking.",
    ]
    common = "can i take my to the plane how big be or do you have hand luggage in bags is too".split()
    speller = Speller(articles, english=dict.fromkeys([*common, "pushchair", "pushchairs"], 10**4))
    assert speller.correct("can i take my pushchair to the plane") == "can i take my stroller to the plane"
    assert speller.correct_word("pushchairs") == "strollers"
    # A customer's phrase is the articles' phrase, plural for plural.
    assert speller.correct("how big can hand luggage be?") == "how big can cabin bag be?"
    assert speller.correct("2 hold bags") == "2 checked bags"
    assert speller.correct("is my carry-on suitcase too big") == "is my cabin bag too big"  # the longest first
    # Where the articles use both words of a group, each stays as written: they may mean two things.
    assert speller.correct("log in or sign in") == "log in or sign in"
    # So does a group the articles use no word of.
    assert speller.correct("my zip code") == "my zip code"
    # A word the customer names that the articles say otherwise is no topic they lack.
    assert speller.unknown_topic("do you have pushchairs?") is None


def test_a_name_typed_with_two_letters_swapped_is_the_english_word() -> None:
    english = {"germany": 340, "tuesday": 798, "netflix": 98, "venom": 4257, "ship": 10**5, "to": 10**6}
    speller = Speller(["We ship to the EU. Lost items are kept for 30 days."], english=english)
    assert [speller.correct_word(w) for w in ["Germnay", "tuesdya", "netlfix"]] == ["germany", "tuesday", "netflix"]
    # Named as the customer meant it: the help centre has nothing about Germany, not "Germnay".
    assert speller.unknown_topic("do you ship to Germnay?") == "Germany"
    # A short name may be an English word with two letters swapped: "venmo" stays as written.
    assert speller.correct_word("venmo") is None


def test_a_long_name_typed_with_a_letter_twice_is_the_english_word_however_rare() -> None:
    english = {"toronto": 50, "ship": 10**5, "to": 10**6, "zele": 50}
    speller = Speller(["We ship to Canada."], english=english)
    assert speller.correct_word("Torontto") == "toronto"
    assert speller.unknown_topic("can you ship to torontto") == "toronto"
    # A short one is only mended to a word English uses often: "zelle" stays a name.
    assert speller.correct_word("zelle") is None


def test_a_typo_is_not_taken_for_two_words_written_as_one_by_a_rare_short_part() -> None:
    # "discunt" is "dis" and "cunt" as pyspellchecker counts them, and one letter from "discount".
    english = {"discount": 6783, "dis": 1587, "cunt": 6964, "discant": 50, "auto": 9552, "pay": 513_519}
    english |= {"autopsy": 13_462}
    speller = Speller(["Annual plans cost less."], english=english)
    assert speller.correct_word("discunt") == "discount"
    assert speller.correct_word("autopay") is None  # still two words as one, not "autopsy"


def test_a_typo_of_a_word_the_articles_say_otherwise_is_their_word() -> None:
    english = {"pushchair": 50, "can": 10**6, "i": 10**6, "bring": 10**5, "a": 10**6}
    speller = Speller(["Strollers can be taken to the aircraft door."], english=english)
    assert speller.correct("can i bring a pushchhair") == "can i bring a stroller"
    assert speller.unknown_topic("can i bring a pushchhair") is None


def test_one_slip_of_an_english_word_beats_two_of_the_articles_word() -> None:
    english = {"delivers": 4369, "which": 10**6, "company": 10**5, "your": 10**6}
    speller = Speller(["Delivery is free over $75."], english=english)
    assert speller.correct_word("delevers") == "delivers"  # not the articles' "delivery", two slips away
    assert speller.correct_word("delivry") == "delivery"  # one slip of theirs still wins
    # However rare the English word two letters swapped make: "installer", not "installed".
    speller = Speller(["The fibre is installed in a day."], english={"installer": 102})
    assert speller.correct_word("intsaller") == "installer"


def test_the_english_word_a_typo_writes_is_read_as_the_articles_word_it_misspells() -> None:
    english = {"check": 504_604, "can": 10**6, "i": 10**6, "send": 10**5, "you": 10**6, "a": 10**6}
    speller = Speller(["We do not accept cash on delivery or cheques."], english=english)
    # "ceque" is "cheque", and "cheque" the articles' "cheques" with a letter left out.
    assert speller.correct("can i send you a ceque") == "can i send you a cheques"


def test_a_doubled_letter_typed_once_and_a_short_common_word_swapped_are_mended() -> None:
    english = {"annually": 575, "wrong": 595_413, "venom": 4257, "pay": 10**5, "if": 10**6, "i": 10**6}
    speller = Speller(["Paying yearly saves 20%."], english=english)
    assert speller.correct("if i pay anually") == "if i pay annually"
    assert speller.correct_word("worng") == "wrong"
    # A short name two swapped letters from a word less common than "wrong" stays as written.
    assert speller.correct_word("venmo") is None


def test_a_phrase_typed_with_a_typo_is_the_articles_phrase() -> None:
    english = dict.fromkeys(["can", "i", "get", "my", "money", "back"], 10**5)
    speller = Speller(["Refunds reach your card within 5 days."], english=english)
    assert speller.correct("can i get my mnoey back") == "can i get my refund"


def test_a_letter_typed_twice_and_one_slip_more_is_the_word() -> None:
    english = {"switch": 50_249, "friends": 10**5, "how": 10**6, "to": 10**6}
    speller = Speller(["Switching to us takes 5 working days."], english=english)
    assert [speller.correct_word(w) for w in ["swttich", "swtiich", "freindds"]] == ["switch", "switch", "friends"]
    assert speller.correct_word("zelle") is None  # a name stays as written


def test_a_rare_english_word_a_letter_short_of_a_far_commoner_one_is_that_word() -> None:
    english = {"yeas": 182, "years": 926_829, "how": 10**6, "many": 10**6, "paring": 235, "parking": 20_000}
    speller = Speller(["Jackets have a 2-year warranty."], english=english)
    assert speller.correct("how many yeas") == "how many years"
    assert speller.correct_word("paring") is None  # "parking" is not commoner enough


def test_a_word_stretched_with_a_letter_held_down_is_the_word_it_stretches() -> None:
    english = {"so": 8_909_458, "too": 1_735_819, "to": 56_394_910, "yes": 223_161, "less": 600_000, "soon": 500_000}
    english |= dict.fromkeys(["my", "bill", "is", "high", "the", "iii", "please"], 10**5)
    speller = Speller(["Your bill is sent monthly."], english=english)
    assert speller.correct("my bill is sooo high") == "my bill is so high"  # not "soon"
    assert speller.correct("the bill is tooo high") == "the bill is too high"  # a run typed twice first
    assert speller.correct_word("yesss") == "yes"  # not "less"
    assert speller.correct_word("pleeease") == "please"
    assert speller.correct_word("plzzz") == "please"  # a chat word, once its run is typed once
    # An English word with a run of three stays as written, and so does a run that makes no word.
    assert [speller.correct_word(w) for w in ["iii", "hmmm"]] == [None, None]


def test_a_letter_left_out_of_a_common_english_word_is_that_word_not_another_slip_of_theirs() -> None:
    english = {"married": 240_829, "marked": 21_385, "deadline": 5_640, "decline": 5_504, "totally": 206_247}
    english |= dict.fromkeys(["we", "got", "lost", "is", "my", "seat", "can", "i", "the"], 10**5)
    speller = Speller(["Seats are marked. You can decline the offer. The total is shown."], english=english)
    assert speller.correct("we got maried, whats the dedline? totaly lost") == (
        "we got married, what's the deadline? totally lost"
    )
    # A typo that leaves a letter out of the articles' word, or is no slip of a common English
    # word, is still theirs.
    assert speller.correct("is my seat markd? can i declne") == "is my seat marked? can i decline"
    assert speller.correct("the totl") == "the total"
    # A vowel for a vowel is as common a slip: "rading" is the articles' "riding".
    riding = Speller(["Riding is fun."], english={"reading": 98_786, "riding": 54_591, "start": 10**5})
    assert riding.correct("start rading") == "start riding"
    # Nor is it where their word holds the typo's letters, two swapped: "metor" is "metro".
    metro = Speller(["Take the metro."], english={"meteor": 9_000, "metro": 700, "the": 10**5})
    assert metro.correct("the metor") == "the metro"
    # Where their word starts with another letter, the English word is meant, however rare
    # beside it: "wnter" is "winter", not "enter".
    enter = Speller(["Enter your code."], english={"winter": 30_000, "enter": 50_000, "in": 10**5})
    assert enter.correct("in wnter") == "in winter"
