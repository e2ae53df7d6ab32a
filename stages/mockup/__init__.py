"""The mockup stage: a redesign concept (LLM or template) → safe HTML → desktop and mobile PNGs.

content.py     the template concept and the HTML (templates/mockup.html.j2), sanitized
quality.py     is an LLM's concept good enough, or does the template win
maker.py       MockupMaker.make(lead): concept → HTML → screenshots → blob store
stage.py       MockupStage: mockups.requested → emails.queued
build.py       build_mockup(settings, pool): LLMs (providers.llm), Chromium (providers.html_render)
"""
