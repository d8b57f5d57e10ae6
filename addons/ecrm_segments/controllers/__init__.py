from . import privacy_portal
