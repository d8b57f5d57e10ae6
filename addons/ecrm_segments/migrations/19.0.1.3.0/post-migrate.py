"""The current segment and stage of the customers without a score move from two
company-dependent columns of res_partner into ecrm_segment_member (those of the scored customers
are already on their score rows); the segment history loses its create/write users and dates
(``date`` says when); the scores lose their stored RFM segment (computed now)."""


def migrate(cr, version):
    # the RFM segment of a score is computed from its R/F/M and the rules
    cr.execute("ALTER TABLE ecrm_partner_score DROP COLUMN IF EXISTS rfm_segment_id")
    cr.execute(
        """
        ALTER TABLE ecrm_segment_history
            DROP COLUMN IF EXISTS create_uid, DROP COLUMN IF EXISTS create_date,
            DROP COLUMN IF EXISTS write_uid, DROP COLUMN IF EXISTS write_date
        """
    )
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
         WHERE NOT EXISTS (SELECT 1 FROM ecrm_partner_score sc WHERE sc.partner_id = p.id AND sc.company_id = c.id)
            ON CONFLICT (partner_id, company_id) DO NOTHING
        """
    )
    cr.execute("ALTER TABLE res_partner DROP COLUMN ecrm_segment_id, DROP COLUMN ecrm_stage")
