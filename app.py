"""The Faust app: `faust -A app worker -l info` starts a worker.

Which stages it runs comes from LEADSTREAM_STAGES (default: all), so the GPU
group is `LEADSTREAM_STAGES=mockup faust -A app worker` or
`leadstream worker --stages mockup` (the same app, the same start).
"""

from config import get_settings
from leadstream.faustapp import create_app, use_event_loop

use_event_loop(get_settings())  # before Faust makes its loop (LEADSTREAM_EVENT_LOOP, uvloop by default)
app = create_app(get_settings())
