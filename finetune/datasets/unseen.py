"""Hand-written requests for every agent, in phrasings, topics and shapes that no generator uses.

No adapter is trained or selected on them: `agentgraph eval --unseen` scores base and adapter on these
rows to show how each adapter holds up away from its training distribution. The rows have the test
split's format, so the same metrics apply: math references run through the real tools, router rows name
the agents to hand to, writing rows are scored on the form and length their request asks for, and
retrieval questions are answered from the hand-written documents in `unseen_corpus/`.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agentgraph.agents.math import MATH
from agentgraph.agents.retrieval import cite
from agentgraph.agents.writing import WRITING, writing_request
from agentgraph.finetune.datasets.common import swift_row
from agentgraph.finetune.datasets.math import run_tool, solved
from agentgraph.finetune.datasets.retrieval import retrieval_agent
from agentgraph.finetune.datasets.router import router_row

CORPUS = Path(__file__).resolve().parent / "unseen_corpus"
"""The documents the retrieval questions are answered from."""

MATH_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("My rent is $1,450 a month. What do I pay over a year?", "calculator", "1450*12"),
    ("A pizza has 8 slices and 3 friends eat 2 slices each. How many slices are left?", "calculator", "8-3*2"),
    ("A train averages 60 mph for 2.5 hours. How far does it get?", "calculator", "60*2.5"),
    ("What's a 15 percent tip on a $64 bill?", "calculator", "15%*64"),
    ("I bought 3 shirts at $19.99 each. What did I spend?", "calculator", "3*19.99"),
    ("How many eggs are in 7 dozen?", "calculator", "7*12"),
    ("Half of 918 minus a third of 300 - what's that?", "calculator", "918/2-300/3"),
    ("What does y equal when 4y - 7 = 29?", "solve", "4*y-7=29"),
    ("Find t when 3t + 12 = 0.", "solve", "3*t+12=0"),
    ("A square garden has 14 m sides. What is its area in square metres?", "calculator", "14*14"),
    ("two to the tenth = ?", "calculator", "2**10"),
    ("Convert 5 hours into seconds.", "calculator", "5*3600"),
    ("It was -4 degrees this morning and it warmed up by 11. How warm is it now?", "calculator", "-4+11"),
    ("Split 1000 dollars evenly among 8 people. How much each?", "calculator", "1000/8"),
    ("12.5% of 640 is how much?", "calculator", "12.5%*640"),
    ("A $250 jacket is marked 30% off. What does it cost now?", "calculator", "250*(1-30%)"),
    ("Add up the first five odd numbers.", "calculator", "1+3+5+7+9"),
    ("How many minutes are there in a week?", "calculator", "7*24*60"),
    ("x squared is 49. What can x be?", "solve", "x**2=49"),
    ("Two numbers sum to 20 and differ by 4. What are they?", "solve", "x+y=20; x-y=4"),
    ("What's the mean of 4, 8, 15, 16, 23 and 42?", "calculator", "(4+8+15+16+23+42)/6"),
    ("A car worth 20000 now sells for 15000. By what percent did its value drop?", "calculator", "(20000-15000)/20000*100"),
    ("37 boxes with 43 apples in each: how many apples?", "calculator", "37*43"),
    ("5 pens cost $3.75. What does one pen cost?", "calculator", "3.75/5"),
    ("Roughly how much is 2,048 divided by 32?", "calculator", "2048/32"),
)
"""(question, tool, reference argument): any call the tool gives the same value for is exact."""

ROUTER_ITEMS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "According to our documents, when did the Hollin Ferry start running?",
        (("retrieval", "According to our documents, when did the Hollin Ferry start running?"),),
    ),
    ("Quick sum for me: 18% of 950.", (("math", "Quick sum for me: 18% of 950."),)),
    (
        "Draft an email to Sam saying the launch moved to Friday.",
        (("writing", "Draft an email to Sam saying the launch moved to Friday."),),
    ),
    (
        "How much is 1200 over 16? Put the result in a short note for the team.",
        (("math", "How much is 1200 over 16?"), ("writing", "Put the result in a short note for the team.")),
    ),
    (
        "Check the files for how many seats the Varnel Arena has. Then tell me what 40% of 9,000 is.",
        (("retrieval", "Check the files for how many seats the Varnel Arena has."), ("math", "Then tell me what 40% of 9,000 is.")),
    ),
    (
        "Who started Orlec Labs, going by the docs? Write it up as a two-sentence summary.",
        (("retrieval", "Who started Orlec Labs, going by the docs?"), ("writing", "Write it up as a two-sentence summary.")),
    ),
    ("If 3x + 5 = 26, what's x?", (("math", "If 3x + 5 = 26, what's x?"),)),
    (
        "Dig up the opening hours of the Tamsin library from the knowledge base.",
        (("retrieval", "Dig up the opening hours of the Tamsin library from the knowledge base."),),
    ),
    (
        "Write a memo reminding everyone that the office is closed on Monday.",
        (("writing", "Write a memo reminding everyone that the office is closed on Monday."),),
    ),
    (
        "What does the handbook say about the travel allowance? Work out 12 times 35 as well.",
        (("retrieval", "What does the handbook say about the travel allowance?"), ("math", "Work out 12 times 35 as well.")),
    ),
    (
        "Figure out 7.5% interest on $4,000 for one year, then email the answer to Priya.",
        (("math", "Figure out 7.5% interest on $4,000 for one year,"), ("writing", "then email the answer to Priya.")),
    ),
    ("Look up the height of Mount Kessar in our notes.", (("retrieval", "Look up the height of Mount Kessar in our notes."),)),
    ("Could you work out 2 to the 16th?", (("math", "Could you work out 2 to the 16th?"),)),
    (
        "Summarize in one line why the Delta project slipped, using what the reports say.",
        (("retrieval", "Find in the reports why the Delta project slipped."), ("writing", "Summarize it in one line.")),
    ),
    ("Compose a thank-you note to the volunteers.", (("writing", "Compose a thank-you note to the volunteers."),)),
    (
        "Search the docs for the capital of the Brenn province, then write Omar a short email with it.",
        (("retrieval", "Search the docs for the capital of the Brenn province,"), ("writing", "then write Omar a short email with it.")),
    ),
    ("How many days are in 26 weeks?", (("math", "How many days are in 26 weeks?"),)),
    (
        "Find the warranty period of the Quellon kettle in the manuals and compute 3 times it.",
        (("retrieval", "Find the warranty period of the Quellon kettle in the manuals"), ("math", "compute 3 times it.")),
    ),
    (
        "Please recap yesterday's meeting for the board in under 50 words.",
        (("writing", "Please recap yesterday's meeting for the board in under 50 words."),),
    ),
    (
        "Which river runs through Castavel, per the guide? And what is 999 + 1?",
        (("retrieval", "Which river runs through Castavel, per the guide?"), ("math", "And what is 999 + 1?")),
    ),
)
"""(request, the (agent, task) handoffs it needs, in order): scored on the agents."""

WRITING_ITEMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Could you jot down a note about the fire drill?",
        ("The fire drill is on Thursday at 11:00.", "Everyone meets in the north car park."),
    ),
    ("Email Lena to say the invoice was paid.", ("Invoice #4410 was paid on March 3.", "The amount was $2,300.")),
    (
        "Give me a summary of the survey results in two sentences.",
        ("412 customers answered the survey.", "68% rated the service as good.", "Delivery times got the most complaints."),
    ),
    ("Write a note for the kitchen staff in at most 25 words.", ("The dishwasher is broken until Tuesday.", "Please wash cups by hand.")),
    (
        "Let Marco know by email that his laptop is ready, in three sentences.",
        ("Marco's laptop was repaired.", "It can be collected from IT on floor 2.", "The battery was replaced."),
    ),
    ("A one-sentence recap of the quarter, please.", ("Revenue grew 9% in the third quarter.", "Costs stayed flat.")),
    (
        "Send the team an email about the new parking rules, 40 words max.",
        ("Parking permits are required from May 1.", "Permits are free and issued by reception."),
    ),
    ("Memo for the night shift: the alarm code changes.", ("The alarm code changes on Friday.", "The new code is sent by text message.")),
    (
        "Summarize the trip for the finance team in 30 words or fewer.",
        ("The Lisbon trip cost $3,120.", "It lasted four days.", "Two clients signed contracts."),
    ),
    (
        "Write Dana an email with the exam results in exactly four sentences.",
        ("Dana passed the safety exam.", "The score was 88 out of 100.", "The certificate arrives next week."),
    ),
    ("Leave a note for Ravi that the server move is done, in two sentences.", ("The server move finished at 02:00.", "No data was lost.")),
    (
        "Can you sum up the outage in under 40 words?",
        ("The website was down for 35 minutes on Sunday.", "A faulty update caused it.", "The update was rolled back."),
    ),
    (
        "Please email the landlord that the heating is broken. Keep it under 45 words.",
        ("The heating in flat 3B stopped working on Monday.", "The flat is at 14 degrees."),
    ),
    (
        "Note to self, three sentences: the dentist appointment.",
        ("The dentist appointment is on June 9 at 15:30.", "It is at the Park Street clinic.", "Bring the insurance card."),
    ),
    ("Write a brief overview of the hiring plan.", ("Four engineers will be hired this year.", "Interviews start in April.")),
    ("Shoot Kai a quick email: the demo is moved to 3 pm.", ("The product demo moved to 15:00 today.", "It stays in room 4A.")),
    (
        "Summary for the newsletter, exactly three sentences.",
        ("The garden club planted 120 trees.", "Forty volunteers helped.", "The next planting day is in October."),
    ),
    ("I need a note in one sentence about the water being off.", ("The water is off on Wednesday from 9:00 to 12:00.",)),
    (
        "Email the supplier that order 5521 arrived damaged, in no more than 50 words.",
        ("Order 5521 arrived on Tuesday.", "Six of the twenty chairs were damaged.", "We would like replacements."),
    ),
    ("TL;DR of the budget review in two sentences.", ("The marketing budget was cut by 10%.", "The savings go to customer support.")),
)
"""(request, facts): scored on the form and length `parse_request` reads from the request."""

RETRIEVAL_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("When did the Hollin Ferry make its first crossing?", "The Hollin Ferry first crossed in 1887.", "hollin-ferry.md"),
    ("How many seats does the Varnel Arena have?", "The Varnel Arena seats 18,400 people.", "varnel-arena.md"),
    ("Who founded Orlec Labs?", "Orlec Labs was founded by Ida Marsh.", "orlec-labs.md"),
    ("What time does the Tamsin library open on Saturdays?", "The Tamsin library opens at 10:00 on Saturdays.", "tamsin-library.md"),
    ("How high is Mount Kessar?", "Mount Kessar is 3,112 metres high.", "mount-kessar.md"),
    ("What warranty comes with the Quellon kettle?", "The Quellon kettle has a two-year warranty.", "quellon-kettle.md"),
    ("Which river flows through Castavel?", "The Sorrel River flows through Castavel.", "castavel.md"),
    ("What is the daily travel allowance in the staff handbook?", "The daily travel allowance is $45.", "staff-handbook.md"),
    ("Why did the Delta project slip?", "The Delta project slipped because the supplier delivered the sensors late.", "delta-project.md"),
    ("What is the capital of the Brenn province?", "The capital of the Brenn province is Olvar.", "brenn-province.md"),
    ("Which year was Orlec Labs set up in?", "Orlec Labs was founded in 2009.", "orlec-labs.md"),
    (
        "What is the boiling-dry protection of the Quellon kettle called?",
        "The Quellon kettle's protection is called SafeStop.",
        "quellon-kettle.md",
    ),
)
"""(question, reference answer, the document that holds it): scored on the search and the citation."""


def math_rows() -> list[dict]:
    """One row per math item: the question, then the reference call, the tool's result and the answer."""
    rows = []
    for question, tool, argument in MATH_ITEMS:
        result, failed = run_tool(tool, argument)
        if failed:
            raise ValueError(f"unseen math item {question!r}: the tool refuses {argument!r}: {result}")
        messages = [SystemMessage(MATH.system_prompt), HumanMessage(question), *solved(tool, argument, result)]
        rows.append(swift_row(messages, MATH.openai_tools()))
    return rows


def router_rows() -> list[dict]:
    """One row per router request with its handoffs."""
    return [router_row(request, list(handoffs)) for request, handoffs in ROUTER_ITEMS]


def writing_rows() -> list[dict]:
    """One row per writing request and its facts (the request is the whole reference: no model turn)."""
    return [swift_row([SystemMessage(WRITING.system_prompt), HumanMessage(writing_request(task, facts))]) for task, facts in WRITING_ITEMS]


def retrieval_rows() -> list[dict]:
    """One row per question, the reference answer citing its document (the search is the model's)."""
    spec = retrieval_agent()
    return [
        swift_row([SystemMessage(spec.system_prompt), HumanMessage(question), AIMessage(cite(answer, source))], spec.openai_tools())
        for question, answer, source in RETRIEVAL_ITEMS
    ]


UNSEEN_ROWS = {"router": router_rows, "math": math_rows, "retrieval": retrieval_rows, "writing": writing_rows}
"""Per agent, the function that builds its unseen rows."""
