"""`wayfinder load`: the Locust journeys in loadtest/, run headless in a child process."""
