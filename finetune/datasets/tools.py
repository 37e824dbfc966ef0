"""Generalist tool-calling rows (the `tools` adapter): invented tool schemas -> the right call(s), or none.

Each row lists one to four tools, drawn from about sixty actions (weather, bookings, orders, files,
messages, geometry, finance, physics, invented records such as `get_veltra_status`), each tool with a
name spelled one of several ways (`get_weather`, `fetchWeather`, `weather_lookup`), parameter names
picked from synonyms (`city` / `location` / `place`), a random subset of optional parameters,
descriptions in several wordings, and parameters of every kind the listing shows: string, integer,
number, boolean, enums, typed arrays and nested objects. The request is phrased from openings and
argument mentions ("What's the weather", "in Paris", "in fahrenheit") whose values the call copies
word for word; optional arguments are passed only when the request mentions them. Kinds: one call;
several calls in one turn when asked (the same tool for several values, or two different tools); no
call when no listed tool fits (a short plain answer); and a call followed by the tool's result and a
one-sentence answer that quotes it. Half the rows have a short system prompt, half none. Split items
are the called tools' full signatures: a test schema never appears in training.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agentgraph.finetune.datasets.common import Example, pick, swift_row
from agentgraph.finetune.datasets.vocab import FIRST_NAMES, invented_word

Sampler = Callable[[random.Random], Any]

CITIES = (
    "Paris",
    "Rome",
    "Tokyo",
    "Lagos",
    "Lima",
    "Oslo",
    "Denver",
    "Austin",
    "Cairo",
    "Seoul",
    "Madrid",
    "Boston",
    "Nairobi",
    "Quito",
    "Perth",
    "Dublin",
    "Hanoi",
    "Porto",
    "Kyoto",
    "Zurich",
    "Chicago",
    "Mumbai",
    "Toronto",
    "Berlin",
    "Vienna",
    "Prague",
    "Accra",
    "Santiago",
    "Helsinki",
    "Montreal",
    "Seattle",
    "Istanbul",
    "Manila",
)
COUNTRIES = ("France", "Italy", "Japan", "Peru", "Norway", "Canada", "Kenya", "Spain", "Chile", "India", "Ghana", "Brazil")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
WORDS = ("alpha", "budget", "draft", "urgent", "travel", "family", "red", "blue", "archive", "review", "q3", "ops", "home", "garden")
FOODS = ("tomato", "basil", "garlic", "rice", "lentils", "chicken", "tofu", "lemon", "onion", "spinach", "beans", "ginger")
TOPICS = ("jazz", "chess", "robotics", "gardening", "volcanoes", "tax law", "sushi", "cycling", "astronomy", "poetry")


def _city(rng: random.Random) -> str:
    return rng.choice(CITIES) if rng.random() < 0.6 else invented_word(rng)


def _date(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(2024, 2027)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"


def _code(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.choice((2, 3))))
    return f"{letters}-{rng.randint(100, 99999)}"


def _person(rng: random.Random) -> str:
    return rng.choice(FIRST_NAMES) if rng.random() < 0.5 else f"{rng.choice(FIRST_NAMES)} {invented_word(rng)}"


def _email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES).lower()}@{invented_word(rng).lower()}.com"


def _float(lo: float, hi: float) -> Sampler:
    return lambda rng: round(rng.uniform(lo, hi), rng.choice((1, 1, 2)))


def _int(lo: int, hi: int) -> Sampler:
    return lambda rng: rng.randint(lo, hi)


def _choice(values: tuple[str, ...]) -> Sampler:
    return lambda rng: rng.choice(values)


def _words(pool: tuple[str, ...]) -> Sampler:
    return lambda rng: rng.sample(pool, rng.randint(2, 3))


@dataclass(frozen=True)
class Param:
    """One kind of parameter: its names, JSON schema, a value sampler and how a request mentions it."""

    names: tuple[str, ...]
    schema: dict[str, Any]
    sample: Sampler
    mentions: tuple[str, ...]
    """Request fragments; `{v}` is the value as written (a list joined with commas and `and`)."""
    parts: tuple[str, ...] = ()
    """For a nested object: the keys its `sample` fills, in the order `mentions` name them (`{a}`, `{b}`)."""


def _enum(names: tuple[str, ...], values: tuple[str, ...], mentions: tuple[str, ...]) -> Param:
    return Param(names, {"type": "string", "enum": list(values)}, _choice(values), mentions)


P: dict[str, Param] = {
    "city": Param(("city", "location", "place", "city_name"), {"type": "string"}, _city, ("in {v}", "for {v}")),
    "origin": Param(("origin", "from_city", "departure"), {"type": "string"}, _city, ("from {v}",)),
    "destination": Param(("destination", "to_city", "arrival"), {"type": "string"}, _city, ("to {v}",)),
    "date": Param(("date", "day", "on_date"), {"type": "string"}, _date, ("on {v}", "for {v}")),
    "unit_temp": _enum(("unit", "units", "scale"), ("celsius", "fahrenheit"), ("in {v}",)),
    "days": Param(("days", "num_days", "forecast_days"), {"type": "integer"}, _int(2, 14), ("for the next {v} days", "over {v} days")),
    "guests": Param(("guests", "people", "party_size"), {"type": "integer"}, _int(1, 12), ("for {v} people", "for {v} guests")),
    "nights": Param(("nights", "num_nights", "stay_nights"), {"type": "integer"}, _int(1, 9), ("for {v} nights",)),
    "passengers": Param(("passengers", "travelers", "seats"), {"type": "integer"}, _int(1, 6), ("for {v} passengers", "with {v} seats")),
    "cabin": _enum(("cabin", "cabin_class", "fare_class"), ("economy", "premium", "business", "first"), ("in {v} class", "flying {v}")),
    "budget": Param(
        ("max_price", "budget", "price_limit"), {"type": "number"}, _int(40, 900), ("under {v} dollars", "for at most {v} dollars")
    ),
    "order_id": Param(("order_id", "order_number", "order"), {"type": "string"}, _code, ("{v}", "with number {v}")),
    "ticket_id": Param(("ticket_id", "ticket", "case_id"), {"type": "string"}, _code, ("{v}",)),
    "record_id": Param(("id", "record_id", "item_id"), {"type": "string"}, _code, ("{v}",)),
    "priority": _enum(("priority", "level", "severity"), ("low", "medium", "high"), ("at {v} priority", "with {v} priority")),
    "recipient": Param(("to", "recipient", "email"), {"type": "string"}, _email, ("to {v}",)),
    "person": Param(("name", "contact", "person"), {"type": "string"}, _person, ("{v}", "for {v}")),
    "subject": Param(
        ("subject", "title", "topic"),
        {"type": "string"},
        _choice(("Lunch", "Invoice", "Project update", "Trip plan", "Weekly report")),
        ("about {v}", "titled {v}"),
    ),
    "message": Param(
        ("message", "text", "body"),
        {"type": "string"},
        _choice(("running late", "see you at noon", "call me back", "the files are ready", "happy birthday")),
        ("saying {v}", "with the text {v}"),
    ),
    "tags": Param(
        ("tags", "labels", "keywords"), {"type": "array", "items": {"type": "string"}}, _words(WORDS), ("tagged {v}", "with the labels {v}")
    ),
    "ingredients": Param(
        ("ingredients", "items", "foods"), {"type": "array", "items": {"type": "string"}}, _words(FOODS), ("with {v}", "using {v}")
    ),
    "numbers": Param(
        ("numbers", "values", "data"),
        {"type": "array", "items": {"type": "integer"}},
        lambda rng: [rng.randint(1, 99) for _ in range(rng.randint(3, 5))],
        ("of {v}", "for {v}"),
    ),
    "topic": Param(("query", "topic", "keyword"), {"type": "string"}, _choice(TOPICS), ("about {v}", "on {v}")),
    "limit": Param(("limit", "max_results", "count"), {"type": "integer"}, _int(2, 20), ("top {v}", "{v} results")),
    "sort": _enum(("sort_by", "order_by", "sort"), ("price", "rating", "date", "distance"), ("sorted by {v}", "by {v}")),
    "cuisine": _enum(("cuisine", "food_type", "style"), ("italian", "thai", "mexican", "indian", "japanese"), ("{v}",)),
    "diet": _enum(("diet", "dietary", "restriction"), ("vegan", "vegetarian", "gluten-free", "keto"), ("{v}",)),
    "include_photos": Param(
        ("include_photos", "with_photos", "photos"), {"type": "boolean"}, lambda rng: rng.random() < 0.7, ("__bool__ photos",)
    ),
    "refundable": Param(
        ("refundable", "free_cancellation", "flexible"),
        {"type": "boolean"},
        lambda rng: rng.random() < 0.7,
        ("__bool__ free cancellation",),
    ),
    "notify": Param(("notify", "send_alert", "alert"), {"type": "boolean"}, lambda rng: rng.random() < 0.7, ("__bool__ a notification",)),
    "path": Param(
        ("path", "file_path", "filename"),
        {"type": "string"},
        lambda rng: (
            f"{rng.choice(('docs', 'data', 'tmp', 'notes'))}/{invented_word(rng).lower()}.{rng.choice(('txt', 'csv', 'md', 'json'))}"
        ),
        ("{v}",),
    ),
    "format": _enum(("format", "file_format", "output_format"), ("pdf", "csv", "json", "txt"), ("as {v}", "in {v} format")),
    "lang": _enum(("language", "target_language", "lang"), ("french", "spanish", "german", "japanese", "swahili"), ("into {v}", "to {v}")),
    "text": Param(
        ("text", "phrase", "sentence"),
        {"type": "string"},
        _choice(("good morning", "where is the station", "thank you very much", "the meeting moved", "two coffees please")),
        ("{v}",),
    ),
    "symbol": Param(
        ("symbol", "ticker", "stock"),
        {"type": "string"},
        lambda rng: "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 4))),
        ("{v}",),
    ),
    "currency_from": Param(
        ("from_currency", "base", "source"), {"type": "string"}, _choice(("USD", "EUR", "JPY", "GBP", "INR", "CAD")), ("from {v}",)
    ),
    "currency_to": Param(
        ("to_currency", "target", "quote"), {"type": "string"}, _choice(("CHF", "AUD", "MXN", "KRW", "BRL", "SEK")), ("to {v}",)
    ),
    "amount": Param(("amount", "value", "sum"), {"type": "number"}, _float(5, 5000), ("{v}",)),
    "radius": Param(("radius", "r"), {"type": "number"}, _int(1, 40), ("with a radius of {v}", "of radius {v}")),
    "base": Param(("base", "base_length", "b"), {"type": "number"}, _int(2, 60), ("with a base of {v}", "base {v}")),
    "height": Param(("height", "h"), {"type": "number"}, _int(2, 60), ("and height {v}", "with height {v}")),
    "side": Param(("side", "side_length", "edge"), {"type": "number"}, _int(2, 30), ("with side {v}", "of side length {v}")),
    "principal": Param(
        ("principal", "initial_amount", "deposit"), {"type": "number"}, _int(500, 50000), ("of {v} dollars", "on a principal of {v}")
    ),
    "rate": Param(("rate", "interest_rate", "annual_rate"), {"type": "number"}, _float(0.5, 9), ("at {v} percent", "at a rate of {v}")),
    "years": Param(("years", "term_years", "duration"), {"type": "integer"}, _int(1, 30), ("for {v} years", "over {v} years")),
    "mass": Param(("mass", "mass_kg", "weight"), {"type": "number"}, _float(0.5, 200), ("with a mass of {v} kg", "of mass {v}")),
    "velocity": Param(("velocity", "speed", "v"), {"type": "number"}, _int(1, 120), ("moving at {v} m/s", "at a speed of {v}")),
    "volume": Param(("volume", "vol"), {"type": "number"}, _float(0.5, 80), ("and a volume of {v}", "with volume {v}")),
    "n": Param(("n", "number", "num"), {"type": "integer"}, _int(3, 40), ("of {v}", "for {v}")),
    "a": Param(("a", "x", "first"), {"type": "integer"}, _int(2, 500), ("of {v}",)),
    "b": Param(("b", "y", "second"), {"type": "integer"}, _int(2, 500), ("and {v}",)),
    "distance": Param(("distance", "distance_km", "km"), {"type": "number"}, _int(1, 900), ("of {v} km", "{v} km")),
    "time_h": Param(("time", "hours", "duration_hours"), {"type": "number"}, _float(0.5, 12), ("in {v} hours", "over {v} hours")),
    "address": Param(
        ("address", "shipping_address", "location"),
        {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}},
        lambda rng: {"street": f"{rng.randint(1, 300)} {invented_word(rng)} Road", "city": _city(rng)},
        ("to {street}, {city}", "at {street} in {city}"),
        ("street", "city"),
    ),
    "price_range": Param(
        ("price_range", "price", "range"),
        {"type": "object", "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
        lambda rng: (lambda lo: {"min": lo, "max": lo + rng.randint(10, 400)})(rng.randint(5, 300)),
        ("between {min} and {max} dollars", "priced {min} to {max}"),
        ("min", "max"),
    ),
    "size": Param(
        ("size", "dimensions", "dims"),
        {"type": "object", "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}}},
        lambda rng: {"width": rng.randint(100, 4000), "height": rng.randint(100, 4000)},
        ("to {width} by {height}", "at {width}x{height}"),
        ("width", "height"),
    ),
    "country": Param(("country", "region", "nation"), {"type": "string"}, _choice(COUNTRIES), ("in {v}",)),
}


@dataclass(frozen=True)
class Action:
    """What a tool does: name stems, descriptions, request openings, required and optional parameters."""

    stems: tuple[str, ...]
    """Name parts, e.g. ("get", "weather"); spelled as `get_weather`, `getWeather`, `weather_get`, ..."""
    descriptions: tuple[str, ...]
    openings: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    result: Sampler = field(default=lambda rng: f"done ({rng.randint(1000, 9999)})")


def _r(fmt: str, lo: int, hi: int) -> Sampler:
    return lambda rng: fmt.format(rng.randint(lo, hi))


ACTIONS: tuple[Action, ...] = (
    Action(
        ("get", "weather"),
        ("Current weather for a city.", "Weather conditions in a place."),
        ("What's the weather", "Get the weather", "Tell me the weather", "How is the weather", "Check the weather"),
        ("city",),
        ("unit_temp", "date"),
        _r("{} degrees and cloudy", -5, 35),
    ),
    Action(
        ("get", "forecast"),
        ("Weather forecast for several days.", "Multi-day forecast for a location."),
        ("Give me the forecast", "What's the forecast", "Show the weather forecast"),
        ("city", "days"),
        ("unit_temp",),
        _r("mostly sunny, highs near {}", 10, 35),
    ),
    Action(
        ("search", "flights"),
        ("Find flights between two cities.", "Search available flights."),
        ("Find flights", "Search for flights", "Look up flights", "Are there flights"),
        ("origin", "destination"),
        ("date", "passengers", "cabin", "budget"),
        _r("3 flights found, cheapest {} dollars", 90, 800),
    ),
    Action(
        ("book", "hotel"),
        ("Book a hotel room.", "Reserve a hotel in a city."),
        ("Book a hotel", "Reserve a hotel room", "Get me a hotel"),
        ("city", "nights"),
        ("guests", "date", "refundable", "budget"),
        _r("booked, confirmation HT{}", 1000, 9999),
    ),
    Action(
        ("find", "restaurants"),
        ("Find restaurants nearby.", "Search restaurants in a city."),
        ("Find restaurants", "Look for a place to eat", "Search for restaurants", "Recommend restaurants"),
        ("city",),
        ("cuisine", "price_range", "limit", "sort"),
        _r("{} restaurants found", 2, 30),
    ),
    Action(
        ("reserve", "table"),
        ("Reserve a restaurant table.", "Book a table."),
        ("Reserve a table", "Book a table", "Get us a table"),
        ("city", "guests"),
        ("date",),
        _r("table booked, code T{}", 100, 999),
    ),
    Action(
        ("track", "order"),
        ("Status of an order.", "Track a shipment by order id."),
        ("Track order", "Where is my order", "Check the status of order", "What's the status of order"),
        ("order_id",),
        ("notify",),
        _r("out for delivery, {} stops away", 1, 9),
    ),
    Action(
        ("cancel", "order"),
        ("Cancel an order.", "Cancel a pending order by id."),
        ("Cancel order", "Please cancel order", "I want to cancel order"),
        ("order_id",),
        ("notify",),
        _r("order cancelled, refund of {} dollars", 5, 400),
    ),
    Action(
        ("ship", "package"),
        ("Ship a package to an address.", "Create a shipment."),
        ("Ship a package", "Send a parcel", "Create a shipment"),
        ("address",),
        ("priority", "notify"),
        _r("label created, tracking PK{}", 10000, 99999),
    ),
    Action(
        ("send", "email"),
        ("Send an email.", "Email someone."),
        ("Send an email", "Email", "Write an email"),
        ("recipient", "subject"),
        ("message",),
        lambda rng: "sent",
    ),
    Action(
        ("send", "message"),
        ("Send a text message to a contact.", "Message a contact."),
        ("Text", "Send a message to", "Message"),
        ("person", "message"),
        ("priority",),
        lambda rng: "delivered",
    ),
    Action(
        ("create", "ticket"),
        ("Open a support ticket.", "Create a helpdesk ticket."),
        ("Open a ticket", "Create a support ticket", "File a ticket"),
        ("subject",),
        ("priority", "tags"),
        _r("ticket SUP-{} opened", 100, 9999),
    ),
    Action(
        ("close", "ticket"),
        ("Close a support ticket.", "Resolve a ticket by id."),
        ("Close ticket", "Resolve ticket", "Mark as done ticket"),
        ("ticket_id",),
        ("notify",),
        lambda rng: "closed",
    ),
    Action(
        ("find", "recipes"),
        ("Find recipes from ingredients.", "Search recipes."),
        ("Find a recipe", "What can I cook", "Suggest recipes", "Give me recipes"),
        ("ingredients",),
        ("diet", "limit", "cuisine"),
        _r("{} recipes found", 2, 25),
    ),
    Action(
        ("search", "news"),
        ("Search recent news articles.", "Latest news on a topic."),
        ("Find news", "Search the news", "Show me news", "Get the latest news"),
        ("topic",),
        ("limit", "country", "date"),
        _r("{} articles found", 3, 40),
    ),
    Action(
        ("search", "books"),
        ("Search a book catalogue.", "Find books on a subject."),
        ("Find books", "Search for books", "Look up books"),
        ("topic",),
        ("limit", "sort"),
        _r("{} books found", 2, 60),
    ),
    Action(
        ("translate", "text"),
        ("Translate text.", "Translate a phrase to another language."),
        ("Translate", "How do you say", "Please translate"),
        ("text", "lang"),
        (),
        lambda rng: rng.choice(("bonjour", "gracias", "danke", "arigato")),
    ),
    Action(
        ("read", "file"),
        ("Read a file.", "Return a file's contents."),
        ("Read the file", "Open", "Show me the contents of"),
        ("path",),
        (),
        _r("{} lines", 3, 400),
    ),
    Action(
        ("export", "report"),
        ("Export a report file.", "Save a report."),
        ("Export the report", "Save the report", "Download the report"),
        ("path",),
        ("format",),
        lambda rng: "exported",
    ),
    Action(
        ("convert", "currency"),
        ("Convert money between currencies.", "Currency exchange."),
        ("Convert", "How much is", "Exchange"),
        ("amount", "currency_from", "currency_to"),
        (),
        _r("{} in the target currency", 5, 9000),
    ),
    Action(
        ("get", "stock", "price"),
        ("Latest price of a stock.", "Stock quote by ticker."),
        ("What's the stock price of", "Get a quote for", "How much is a share of"),
        ("symbol",),
        ("date",),
        _r("{} dollars", 5, 900),
    ),
    Action(
        ("resize", "image"),
        ("Resize an image.", "Scale an image to new dimensions."),
        ("Resize the image", "Scale", "Shrink the picture"),
        ("path", "size"),
        ("format",),
        lambda rng: "resized",
    ),
    Action(
        ("list", "hotels"),
        ("List hotels in a city.", "Hotel search."),
        ("List hotels", "Show hotels", "Which hotels are there"),
        ("city",),
        ("price_range", "sort", "include_photos", "limit"),
        _r("{} hotels found", 2, 50),
    ),
    Action(
        ("add", "contact"),
        ("Add a contact.", "Save a new contact."),
        ("Add a contact", "Save the contact", "Create a contact for"),
        ("person",),
        ("recipient", "tags"),
        lambda rng: "contact saved",
    ),
    Action(
        ("calculate", "circle", "area"),
        ("Area of a circle.", "Compute a circle's area from its radius."),
        ("Calculate the area of a circle", "What is the area of a circle", "Find the area of a circle"),
        ("radius",),
        (),
        _r("{}.27", 3, 5000),
    ),
    Action(
        ("calculate", "triangle", "area"),
        ("Area of a triangle from base and height.", "Triangle area."),
        ("Calculate the area of a triangle", "Find the area of a triangle", "What's the area of a triangle"),
        ("base", "height"),
        (),
        _r("{}", 2, 1800),
    ),
    Action(
        ("square", "area"),
        ("Area of a square.", "Compute the area of a square."),
        ("What is the area of a square", "Compute the area of a square"),
        ("side",),
        (),
        _r("{}", 4, 900),
    ),
    Action(
        ("compound", "interest"),
        ("Compound interest on a deposit.", "Future value with compound interest."),
        ("Calculate the compound interest", "How much will I have", "Compute compound interest"),
        ("principal", "rate", "years"),
        (),
        _r("{} dollars", 600, 90000),
    ),
    Action(
        ("kinetic", "energy"),
        ("Kinetic energy of a moving object.", "Compute kinetic energy."),
        ("Calculate the kinetic energy of an object", "What is the kinetic energy of a body", "Find the kinetic energy"),
        ("mass", "velocity"),
        (),
        _r("{} joules", 1, 90000),
    ),
    Action(
        ("calculate", "density"),
        ("Density from mass and volume.", "Compute density."),
        ("Calculate the density of an object", "What's the density of a sample", "Find the density"),
        ("mass", "volume"),
        (),
        _r("{}.5", 1, 90),
    ),
    Action(
        ("factorial",),
        ("Factorial of a number.", "Compute n!."),
        ("What is the factorial", "Compute the factorial", "Calculate the factorial"),
        ("n",),
        (),
        _r("{}", 6, 999999),
    ),
    Action(
        ("fibonacci",),
        ("Fibonacci sequence up to n terms.", "The first n Fibonacci numbers."),
        ("Give me the Fibonacci sequence", "List the Fibonacci numbers", "Compute the Fibonacci series"),
        ("n",),
        (),
        _r("{} terms", 3, 40),
    ),
    Action(
        ("gcd",),
        ("Greatest common divisor of two integers.", "Highest common factor."),
        ("Find the greatest common divisor", "What is the GCD", "Compute the highest common factor"),
        ("a", "b"),
        (),
        _r("{}", 1, 50),
    ),
    Action(
        ("lcm",),
        ("Least common multiple of two integers.", "Lowest common multiple."),
        ("Find the least common multiple", "What is the LCM", "Compute the lowest common multiple"),
        ("a", "b"),
        (),
        _r("{}", 10, 9000),
    ),
    Action(
        ("calculate", "average"),
        ("Mean of a list of numbers.", "Average value."),
        ("What is the average", "Compute the mean", "Find the average"),
        ("numbers",),
        (),
        _r("{}.4", 2, 90),
    ),
    Action(
        ("calculate", "speed"),
        ("Average speed from distance and time.", "Speed over a trip."),
        ("What's the average speed for a trip", "Calculate the speed for a distance", "Find the speed for a drive"),
        ("distance", "time_h"),
        (),
        _r("{} km/h", 5, 200),
    ),
    Action(
        ("get", "population"),
        ("Population of a country.", "How many people live in a country."),
        ("What is the population", "How many people live", "Get the population"),
        ("country",),
        ("date",),
        _r("{} million", 1, 900),
    ),
    Action(
        ("get", "{x}", "status"),
        ("Status of a {x} record.", "Look up a {x} by id."),
        ("Check the {x} status of", "What is the status of {x}", "Look up {x}"),
        ("record_id",),
        ("notify",),
        _r("active since {}", 2001, 2025),
    ),
    Action(
        ("update", "{x}"),
        ("Update a {x} entry.", "Change the priority of a {x}."),
        ("Update {x}", "Set the {x}", "Change {x}"),
        ("record_id", "priority"),
        ("tags",),
        lambda rng: "updated",
    ),
    Action(
        ("list", "{x}", "items"),
        ("List {x} items.", "Search {x} entries."),
        ("List the {x} items", "Show {x} entries", "Find {x} items"),
        ("topic",),
        ("limit", "sort"),
        _r("{} items", 2, 80),
    ),
    Action(
        ("schedule", "{x}", "meeting"),
        ("Schedule a {x} meeting.", "Put a {x} meeting in the calendar."),
        ("Schedule a {x} meeting", "Set up a {x} meeting", "Book a {x} meeting"),
        ("person", "date"),
        ("notify",),
        lambda rng: "scheduled",
    ),
)

SYSTEMS = (
    "You are a helpful assistant.",
    "Use the tools when they help.",
    "Answer briefly.",
    "You are an assistant with tools.",
    "Help the user. Call a tool when one fits.",
    "Be concise and accurate.",
)
NO_TOOL_ANSWERS = (
    "None of my tools can do that.",
    "I can't do that with the tools I have.",
    "Sorry, no available tool fits that request.",
    "I have no tool for that.",
    "That is outside what my tools can do.",
)
CHATTER = (
    "Tell me a joke.",
    "Who wrote Hamlet?",
    "How are you today?",
    "What is the meaning of life?",
    "Write a haiku about rain.",
    "Thanks, that's all.",
    "What's your favourite colour?",
    "Explain photosynthesis in one sentence.",
    "Say hello to my friend.",
    "Can you sing a song?",
    "What is the capital of France?",
    "Recommend a good movie.",
)
ANSWERS = ("The result is {r}.", "Here it is: {r}.", "Done: {r}.", "{R}.", "The tool says: {r}.")
JOINS = (" Also, ", " And ", " Then ", ". Also ", " and also ")
KINDS = (("single", 0.5), ("parallel_same", 0.13), ("parallel_mixed", 0.12), ("irrelevant", 0.13), ("answer", 0.12))
MAX_TOOLS = 4


def spell(stems: tuple[str, ...], rng: random.Random) -> str:
    """A tool name from its stems in one of several spellings."""
    style = rng.random()
    if style < 0.45:
        return "_".join(stems)
    if style < 0.65:
        return stems[0] + "".join(s[:1].upper() + s[1:] for s in stems[1:])
    if style < 0.8 and len(stems) > 1:
        return "_".join(stems[1:] + stems[:1])
    if style < 0.9:
        return rng.choice(("api_", "tool_", "my_", "svc_")) + "_".join(stems)
    return ".".join(stems[:1]) + "_" + "_".join(stems[1:]) if len(stems) > 1 else stems[0] + "_tool"


@dataclass(eq=False)
class Tool:
    """One invented tool: its schema and, per parameter kind, the name it got."""

    action: Action
    name: str
    names: dict[str, str]
    schema: dict[str, Any]
    word: str

    @property
    def signature(self) -> str:
        return self.name + "(" + ",".join(self.names.values()) + ")"


def make_tool(rng: random.Random, action: Action) -> Tool:
    """An invented tool for `action`: spelling, parameter names, optional parameters, description."""
    word = invented_word(rng).lower()
    stems = tuple(s.replace("{x}", word) for s in action.stems)
    name = spell(stems, rng).replace(".", "_")
    kinds = list(action.required) + [k for k in action.optional if rng.random() < 0.6]
    names: dict[str, str] = {}
    props: dict[str, Any] = {}
    for kind in kinds:
        param = P[kind]
        choices = [n for n in param.names if n not in props] or [f"{param.names[0]}_{len(props)}"]
        pname = rng.choice(choices)
        names[kind] = pname
        props[pname] = dict(param.schema)
    description = rng.choice(action.descriptions).replace("{x}", word)
    function: dict[str, Any] = {
        "name": name,
        "parameters": {"type": "object", "properties": props, "required": [names[k] for k in action.required]},
    }
    if rng.random() < 0.9:
        function = {"name": name, "description": description, "parameters": function["parameters"]}
    return Tool(action, name, names, {"type": "function", "function": function}, word)


def _show(value: Any) -> str:
    if isinstance(value, list):
        words = [str(v) for v in value]
        return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]
    return str(value)


def mention(rng: random.Random, kind: str, value: Any) -> str:
    """How a request states `value` for a parameter of `kind`."""
    param = P[kind]
    template = rng.choice(param.mentions)
    if template.startswith("__bool__"):
        thing = template.removeprefix("__bool__ ")
        return rng.choice(("with", "including")) + f" {thing}" if value else f"without {thing}"
    if param.parts:
        return template.format(**value)
    return template.format(v=_show(value))


def request(rng: random.Random, tool: Tool, split: str) -> tuple[str, dict[str, Any], bool]:
    """A request for `tool`, the call's arguments (by parameter name) and whether the opening is held out."""
    opening, held = pick(rng, tool.action.openings, split)
    opening = opening.replace("{x}", tool.word)
    args: dict[str, Any] = {}
    parts: list[str] = []
    for kind, pname in tool.names.items():
        if kind not in tool.action.required and rng.random() < 0.4:
            continue
        value = P[kind].sample(rng)
        args[pname] = value
        parts.append(mention(rng, kind, value))
    required = [p for k, p in tool.names.items() if k in tool.action.required]
    ordered = parts[: len(required)] + rng.sample(parts[len(required) :], len(parts) - len(required))
    text = (opening + " " + " ".join(ordered)).strip()
    return text, {p: args[p] for p in tool.names.values() if p in args}, held


def _finish(text: str) -> str:
    question = text.split(" ", 1)[0].lower() in ("what", "what's", "how", "where", "which", "are", "who")
    return text if text.endswith((".", "?", "!")) else text + ("?" if question else ".")


def _listing(rng: random.Random, chosen: list[Tool], exclude: set[Action]) -> list[Tool]:
    """The tools a row lists: `chosen` plus distractors of other actions, shuffled."""
    others = [a for a in ACTIONS if a not in exclude]
    count = max(len(chosen), rng.randint(1, MAX_TOOLS))
    tools = chosen + [make_tool(rng, a) for a in rng.sample(others, count - len(chosen))]
    rng.shuffle(tools)
    return tools


def _calls(calls: list[tuple[Tool, dict[str, Any]]]) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": t.name, "args": args, "id": f"call_{i}", "type": "tool_call"} for i, (t, args) in enumerate(calls)]
    )


def make_example(rng: random.Random, split: str) -> Example | None:
    """One row of a random kind (see the module docstring)."""
    kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
    system = [SystemMessage(rng.choice(SYSTEMS))] if rng.random() < 0.5 else []
    action = rng.choice(ACTIONS)
    tool = make_tool(rng, action)
    if kind == "irrelevant":
        other = rng.choice([a for a in ACTIONS if a is not action])
        listed = _listing(rng, [tool], {other})
        if rng.random() < 0.5:
            text, held = rng.choice(CHATTER), False
        else:
            text, _, held = request(rng, make_tool(rng, other), split)
            text = _finish(text)
        messages: list[BaseMessage] = [*system, HumanMessage(text), AIMessage(rng.choice(NO_TOOL_ANSWERS))]
        keys = tuple(sorted(t.signature for t in listed)) + (text.lower(),)
        return Example(swift_row(messages, [t.schema for t in listed]), keys, kind, held)
    text, args, held = request(rng, tool, split)
    calls = [(tool, args)]
    if kind == "parallel_same":
        second_text, second_args, held2 = request(rng, tool, split)
        if second_args == args:
            return None
        varying = [p for p in args if p in second_args and args[p] != second_args[p]]
        same_rest = len(varying) == 1 and {p: v for p, v in args.items() if p not in varying} == {
            p: v for p, v in second_args.items() if p not in varying
        }
        value = second_args[varying[0]] if varying else None
        if same_rest and isinstance(value, (str, int, float)) and not isinstance(value, bool) and text.endswith(_show(args[varying[0]])):
            text = f"{text} and {_show(value)}"
        else:
            second_text = _finish(second_text)
            text = _finish(text) + rng.choice((" Also ", " Then ", " And ")) + second_text[:1].lower() + second_text[1:]
        calls.append((tool, second_args))
        held = held or held2
    elif kind == "parallel_mixed":
        other = make_tool(rng, rng.choice([a for a in ACTIONS if a is not action]))
        second_text, second_args, held2 = request(rng, other, split)
        second_text = _finish(second_text)
        text = _finish(text) + rng.choice((" Also, ", " Then ", " And ")) + second_text[:1].lower() + second_text[1:]
        calls.append((other, second_args))
        held = held or held2
    text = _finish(text)
    listed = _listing(rng, list(dict.fromkeys(t for t, _ in calls)), {t.action for t, _ in calls})
    messages = [*system, HumanMessage(text), _calls(calls)]
    if kind == "answer":
        result = action.result(rng)
        messages += [
            ToolMessage(result, tool_call_id="call_0"),
            AIMessage(rng.choice(ANSWERS).format(r=result, R=result[:1].upper() + result[1:])),
        ]
    keys = tuple(sorted({t.signature for t, _ in calls}))
    return Example(swift_row(messages, [t.schema for t in listed]), keys, kind, held)


def item_keys(row: dict[str, Any]) -> set[str]:
    """The split items of a row: the called tools' signatures (no call: every listed one, and the request)."""
    listed = {t["function"]["name"]: t["function"] for t in json.loads(row["tools"])}

    def signature(name: str) -> str:
        return name + "(" + ",".join(listed[name]["parameters"]["properties"]) + ")"

    called = [json.loads(m["content"])["name"] for m in row["messages"] if m["role"] == "tool_call"]
    if called:
        return {signature(name) for name in called}
    request = next(m["content"] for m in row["messages"] if m["role"] == "user")
    return {*(signature(name) for name in listed), request.lower()}


__all__ = ["ACTIONS", "P", "item_keys", "make_example", "make_tool"]
