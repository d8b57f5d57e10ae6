"""The customers' current segment and stage move from two company-dependent columns of
res_partner into ecrm_segment_member (one row per customer and company)."""


def migrate(cr, version):
    cr.execute(
        """
        SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name IN ('ecrm_segment_id', 'ecrm_stage')
        """
    )
    if cr.fetchone()[0] < 2:
        return
    cr.execute(
        """
        INSERT INTO ecrm_segment_member (partner_id, company_id, segment_id, stage)
        SELECT p.id, c.id, s.id, p.ecrm_stage ->> c.id::text
          FROM res_partner p
          JOIN res_company c ON p.ecrm_segment_id ? c.id::text OR p.ecrm_stage ? c.id::text
     LEFT JOIN ecrm_segment s ON s.id = (p.ecrm_segment_id ->> c.id::text)::int
            ON CONFLICT (partner_id, company_id) DO NOTHING
        """
    )
    cr.execute("ALTER TABLE res_partner DROP COLUMN ecrm_segment_id, DROP COLUMN ecrm_stage")
