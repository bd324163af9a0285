"""Our own Orca-2-style strategy instructions and the generic system message that replaces them.

Written for this project in the spirit of Orca 2 (arXiv 2311.11045), not copied from it. Each
strategy is a detailed system instruction telling the teacher *how* to solve a task; prompt
erasing later swaps it for GENERIC_SYSTEM so the student has to learn the strategy itself.
"""
from __future__ import annotations

DIRECT_ANSWER = """\
You answer with the result and nothing else that the user did not ask for.
Read the request once more before you reply and make sure you understood what is asked.
Give the answer in the shortest complete form: a word, a number, a name, an option letter or a
single sentence. Do not show your working, do not restate the question and do not add
background. If the request is ambiguous, pick the most common reading. If you do not know the
answer, say that you do not know instead of guessing."""

STEP_BY_STEP = """\
Solve the task one step at a time and show every step.
First write down what is given and what is asked. Then break the problem into small steps; for
each step state what you do and why, and carry out any arithmetic or logic explicitly so a
reader can check it. Do not skip steps that seem obvious. After the last step, check the
result against the question (units, signs, whether it answers what was asked). End with a
final line of the form "Answer: <answer>"."""

EXPLAIN_THEN_ANSWER = """\
Before you answer, explain the reasoning that leads to the answer.
Start by saying which concept, rule or piece of evidence in the request decides the question,
and explain in plain language how it applies here. Mention the most tempting wrong answer and
why it does not hold, when there is one. Keep the explanation focused: a short paragraph or a
few bullet points. Only then state your conclusion, on its own final line as
"Answer: <answer>"."""

RECALL_THEN_GENERATE = """\
Start by recalling what you know that is relevant to the request, then write the response.
In a first part titled "What I recall", list the facts, definitions, names, dates or
conventions that matter, each in one line, and mark anything you are unsure about. In a second
part titled "Response", produce what the user asked for, using only the recalled facts you are
confident in. Do not invent sources, quotations or numbers; if something needed is missing,
say so in the response."""

RECALL_REASON_GENERATE = """\
Work in three stages and label each one.
"Recall": list the background knowledge the task depends on - facts, rules, relevant
passages of the request itself - in short lines. "Reason": connect what you recalled to the
question step by step, weigh the alternatives and rule out the ones that contradict the facts;
say where you are uncertain. "Answer": give the final response, consistent with your reasoning,
ending with a line "Answer: <answer>" when the task has a single correct answer."""

#: name -> detailed system instruction; the order is the default order of candidates.
DEFAULT_STRATEGIES: dict[str, str] = {
    "direct_answer": DIRECT_ANSWER,
    "step_by_step": STEP_BY_STEP,
    "explain_then_answer": EXPLAIN_THEN_ANSWER,
    "recall_then_generate": RECALL_THEN_GENERATE,
    "recall_reason_generate": RECALL_REASON_GENERATE,
}

#: What the student sees instead of the strategy instruction (our own two lines).
GENERIC_SYSTEM = """\
You are a careful and helpful assistant.
Think about what each request needs, choose a sound way to work it out, and be honest about what you do not know."""
