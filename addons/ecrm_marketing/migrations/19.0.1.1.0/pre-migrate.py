"""Remember who ticked the former Marketing Consent checkbox before it becomes computed."""


def migrate(cr, version):
    cr.execute(
        """
        DROP TABLE IF EXISTS ecrm_marketing_consent_migration;
        CREATE TABLE ecrm_marketing_consent_migration AS
            SELECT id FROM res_partner WHERE ecrm_marketing_consent;
        """
    )
