from . import models
from . import wizard
from . import controllers
from .hooks import _ecrm_segments_post_init
