"""The Simulation verdict: the organisation's own phishing exercise, answered with a message of its own."""

from __future__ import annotations

from testkit.cases import thehive4_case
from testkit.cortex import apply_operations
from testkit.delivered import text_and_html
from testkit.records import told, untimed


def parts(delivered):
    return list(text_and_html(delivered.message))


def test_simulation_tells_the_reporter_it_was_an_exercise_and_is_recorded_once(cortex, smtp):
    case = thehive4_case("Simulation", title="Phishing report: Your bonus is waiting")
    first = cortex(case)
    second = cortex(apply_operations(case, first))

    assert first.success and second.success, (first.error, second.error)
    assert smtp.recipients() == ["alice@example.org"]
    text, html = parts(smtp.delivered[0])
    assert 'reporting the message "Your bonus is waiting"' in text
    assert "That message was a phishing exercise: a simulated attack run by our organisation" in text
    assert "Reporting it was exactly the right thing to do." in text
    assert "There is nothing else for you to do" in text
    assert "This was one of our phishing exercises." in html and "Your bonus is waiting" in html
    assert untimed(first) == [*told("Simulation", "alice@example.org"), "mail sent"]
    assert second.operations == [] and second.output["full"]["already_notified"] == ["alice@example.org"]


def test_template_simulation_replaces_the_simulation_message_only(cortex, smtp):
    exercise = cortex(thehive4_case("simulation"), template_simulation="Exercise: {reported_subject} ({verdict}).")
    phishing = cortex(thehive4_case("Phishing", ["bob@example.org"]), template_simulation="Exercise.")

    assert exercise.success and phishing.success, (exercise.error, phishing.error)
    assert parts(smtp.delivered[0])[0] == "Exercise: Invoice overdue (Simulation).\n"
    assert "Well spotted!" in parts(smtp.delivered[1])[0]
