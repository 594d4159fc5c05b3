"""职业技能竞赛: competitions, their results, and the promotions a placing earns."""
