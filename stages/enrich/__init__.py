"""The enrich stage: a lead's website → technology, performance, contacts (see docs/enrichment.md).

Read it in the order a lead goes through it:

    fetch.py        the website as a URL; HTML or not; an empty SPA shell; contact links
                    (the fetching itself: providers.web, Chromium: providers.browser)
    detect.py       technologies from Wappalyzer-format fingerprints (data/technologies.json)
    contacts.py     emails and phones on a page
    performance.py  when a site counts as modern (Core Web Vitals thresholds, outdated tech)
    waterfall.py    per-field provider order: first answer that passes the check wins
    sources.py      the providers each field can come from, for one site visit
    enricher.py     Enricher.enrich(lead): all of the above for one lead
    stage.py        EnrichStage: suppressions first, then the enricher
    build.py        build_enricher / build_enrich(settings, pool): wired from the settings
"""
