"""The Faust app: `faust -A app worker -l info` starts a worker.

Which stages it runs comes from LEADSTREAM_STAGES (default: all), so the GPU
group is `LEADSTREAM_STAGES=mockup faust -A app worker` or
`leadstream worker --stages mockup` (the same app, the same start).
"""

from config import get_settings
from leadstream.faustapp import create_app

app = create_app(get_settings())
