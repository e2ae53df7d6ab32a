"""The scrape stage: search providers for a ZIP × vertical, one lead per business.

sources.py  merge what several sources found into one lead per business
stage.py    ScrapeStage: a scrape job in, leads out (and GuardedSearch)
build.py    build_scrape(settings, pool): the stage with its guarded providers
"""
