/* SPDX-License-Identifier: MIT */
/*
 * Intel 82540EM register names and bits (PCI/PCI-X Family of Gigabit Ethernet Controllers
 * Software Developer's Manual, 317453-006 rev 4.0: section 13 registers, 3.2 receive
 * descriptors, 3.3 transmit descriptors, 3.4 TCP/IP context descriptors, 5.5 EEPROM
 * Microwire interface, 8.2 PHY registers (Marvell 88E1011 as found on the 82540EM)).
 */
#ifndef DEVICES_E1000_REGS_H
#define DEVICES_E1000_REGS_H

#define E1000_VENDOR	0x8086
#define E1000_DEVICE	0x100e /* 82540EM desktop */
#define E1000_SUBSYS	0x001e
#define E1000_REVISION	0x03
#define E1000_MMIO_SIZE 0x20000 /* BAR 0: 128 KiB */
#define E1000_IO_SIZE	0x40	/* BAR 1: IOADDR at 0, IODATA at 4 */
#define E1000_IOADDR	0x00
#define E1000_IODATA	0x04

/* 13.4 registers (byte offsets in BAR 0) */
#define E1000_CTRL	0x0000
#define E1000_STATUS	0x0008
#define E1000_EECD	0x0010
#define E1000_EERD	0x0014
#define E1000_CTRL_EXT	0x0018
#define E1000_FLA	0x001c
#define E1000_MDIC	0x0020
#define E1000_FCAL	0x0028
#define E1000_FCAH	0x002c
#define E1000_FCT	0x0030
#define E1000_VET	0x0038
#define E1000_ICR	0x00c0
#define E1000_ITR	0x00c4
#define E1000_ICS	0x00c8
#define E1000_IMS	0x00d0
#define E1000_IMC	0x00d8
#define E1000_RCTL	0x0100
#define E1000_FCTTV	0x0170
#define E1000_TXCW	0x0178
#define E1000_RXCW	0x0180
#define E1000_TCTL	0x0400
#define E1000_TIPG	0x0410
#define E1000_AIFS	0x0458
#define E1000_LEDCTL	0x0e00
#define E1000_PBA	0x1000
#define E1000_FCRTL	0x2160
#define E1000_FCRTH	0x2168
#define E1000_RDBAL	0x2800
#define E1000_RDBAH	0x2804
#define E1000_RDLEN	0x2808
#define E1000_RDH	0x2810
#define E1000_RDT	0x2818
#define E1000_RDTR	0x2820
#define E1000_RXDCTL	0x2828
#define E1000_RADV	0x282c
#define E1000_RSRPD	0x2c00
#define E1000_TXDMAC	0x3000
#define E1000_TDBAL	0x3800
#define E1000_TDBAH	0x3804
#define E1000_TDLEN	0x3808
#define E1000_TDH	0x3810
#define E1000_TDT	0x3818
#define E1000_TIDV	0x3820
#define E1000_TXDCTL	0x3828
#define E1000_TADV	0x382c
#define E1000_TSPMT	0x3830
#define E1000_STATS	0x4000 /* 0x4000-0x40ff: 64 statistics registers, clear on read */
#define E1000_STATS_END 0x4100
#define E1000_RXCSUM	0x5000
#define E1000_MTA	0x5200 /* 128 x 32 bits */
#define E1000_RA	0x5400 /* 16 x {RAL, RAH} */
#define E1000_VFTA	0x5600 /* 128 x 32 bits */
#define E1000_WUC	0x5800
#define E1000_WUFC	0x5808
#define E1000_WUS	0x5810
#define E1000_MANC	0x5820

/* statistics (offsets from E1000_STATS, /4 = index) */
#define E1000_ST_CRCERRS 0x00
#define E1000_ST_MPC	 0x10
#define E1000_ST_PRC64	 0x5c
#define E1000_ST_PRC127	 0x60
#define E1000_ST_PRC255	 0x64
#define E1000_ST_PRC511	 0x68
#define E1000_ST_PRC1023 0x6c
#define E1000_ST_PRC1522 0x70
#define E1000_ST_GPRC	 0x74
#define E1000_ST_BPRC	 0x78
#define E1000_ST_MPRC	 0x7c
#define E1000_ST_GPTC	 0x80
#define E1000_ST_GORCL	 0x88
#define E1000_ST_GORCH	 0x8c
#define E1000_ST_GOTCL	 0x90
#define E1000_ST_GOTCH	 0x94
#define E1000_ST_RNBC	 0xa0
#define E1000_ST_RUC	 0xa4
#define E1000_ST_ROC	 0xac
#define E1000_ST_TORL	 0xc0
#define E1000_ST_TORH	 0xc4
#define E1000_ST_TOTL	 0xc8
#define E1000_ST_TOTH	 0xcc
#define E1000_ST_TPR	 0xd0
#define E1000_ST_TPT	 0xd4
#define E1000_ST_PTC64	 0xd8
#define E1000_ST_PTC127	 0xdc
#define E1000_ST_PTC255	 0xe0
#define E1000_ST_PTC511	 0xe4
#define E1000_ST_PTC1023 0xe8
#define E1000_ST_PTC1522 0xec
#define E1000_ST_MPTC	 0xf0
#define E1000_ST_BPTC	 0xf4
#define E1000_ST_TSCTC	 0xf8
#define E1000_ST_TSCTFC	 0xfc

/* CTRL */
#define E1000_CTRL_FD	   0x00000001u
#define E1000_CTRL_ASDE	   0x00000020u
#define E1000_CTRL_SLU	   0x00000040u
#define E1000_CTRL_RST	   0x04000000u
#define E1000_CTRL_VME	   0x40000000u
#define E1000_CTRL_PHY_RST 0x80000000u
/* STATUS */
#define E1000_STATUS_FD		0x00000001u
#define E1000_STATUS_LU		0x00000002u
#define E1000_STATUS_SPEED_1000 0x00000080u
#define E1000_STATUS_ASDV_1000	0x00000200u
/* EECD: Microwire bit-banging (5.5) */
#define E1000_EECD_SK		 0x001u
#define E1000_EECD_CS		 0x002u
#define E1000_EECD_DI		 0x004u
#define E1000_EECD_DO		 0x008u
#define E1000_EECD_FWE		 0x030u
#define E1000_EECD_REQ		 0x040u
#define E1000_EECD_GNT		 0x080u
#define E1000_EECD_PRES		 0x100u
#define E1000_EECD_SIZE		 0x200u
#define E1000_EEPROM_WORDS	 64
#define E1000_EEPROM_SUM	 0xbaba
#define E1000_EEPROM_READ_OPCODE 0x6 /* Microwire: 110b */
#define E1000_EEPROM_OPCODE_BITS 3
#define E1000_EEPROM_ADDR_BITS	 6
/* EERD */
#define E1000_EERD_START      0x00000001u
#define E1000_EERD_DONE	      0x00000010u
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16
/* MDIC */
#define E1000_MDIC_DATA_MASK 0x0000ffffu
#define E1000_MDIC_REG_SHIFT 16
#define E1000_MDIC_PHY_SHIFT 21
#define E1000_MDIC_OP_WRITE  0x04000000u
#define E1000_MDIC_OP_READ   0x08000000u
#define E1000_MDIC_READY     0x10000000u
#define E1000_MDIC_INT_EN    0x20000000u
#define E1000_MDIC_ERROR     0x40000000u
#define E1000_PHY_ADDR	     1
/* ICR / ICS / IMS / IMC */
#define E1000_ICR_TXDW	  0x00000001u
#define E1000_ICR_TXQE	  0x00000002u
#define E1000_ICR_LSC	  0x00000004u
#define E1000_ICR_RXSEQ	  0x00000008u
#define E1000_ICR_RXDMT0  0x00000010u
#define E1000_ICR_RXO	  0x00000040u
#define E1000_ICR_RXT0	  0x00000080u
#define E1000_ICR_MDAC	  0x00000200u
#define E1000_ICR_RXCFG	  0x00000400u
#define E1000_ICR_TXD_LOW 0x00008000u
#define E1000_ICR_SRPD	  0x00010000u
#define E1000_ICR_VALID	  0x0001f6dfu /* the causes the 82540EM has */
/* RCTL */
#define E1000_RCTL_EN	  0x00000002u
#define E1000_RCTL_SBP	  0x00000004u
#define E1000_RCTL_UPE	  0x00000008u
#define E1000_RCTL_MPE	  0x00000010u
#define E1000_RCTL_LPE	  0x00000020u
#define E1000_RCTL_RDMTS  0x00000300u
#define E1000_RCTL_MO	  0x00003000u
#define E1000_RCTL_BAM	  0x00008000u
#define E1000_RCTL_BSIZE  0x00030000u
#define E1000_RCTL_VFE	  0x00040000u
#define E1000_RCTL_BSEX	  0x02000000u
#define E1000_RCTL_SECRC  0x04000000u
#define E1000_RDMTS_SHIFT 8
#define E1000_MO_SHIFT	  12
#define E1000_BSIZE_SHIFT 16
/* RXCSUM */
#define E1000_RXCSUM_PCSS  0x000000ffu
#define E1000_RXCSUM_IPOFL 0x00000100u
#define E1000_RXCSUM_TUOFL 0x00000200u
/* TCTL */
#define E1000_TCTL_EN  0x00000002u
#define E1000_TCTL_PSP 0x00000008u
/* RAH */
#define E1000_RAH_AV 0x80000000u

/* 3.2.3 receive descriptor status and errors */
#define E1000_RXD_STAT_DD    0x01
#define E1000_RXD_STAT_EOP   0x02
#define E1000_RXD_STAT_IXSM  0x04
#define E1000_RXD_STAT_VP    0x08
#define E1000_RXD_STAT_TCPCS 0x20
#define E1000_RXD_STAT_IPCS  0x40
#define E1000_RXD_ERR_TCPE   0x20
#define E1000_RXD_ERR_IPE    0x40

/* 3.3 transmit descriptors: the command byte (11), status (12), options (13) */
#define E1000_TXD_CMD_EOP    0x01
#define E1000_TXD_CMD_IFCS   0x02
#define E1000_TXD_CMD_IC     0x04 /* legacy: insert checksum */
#define E1000_TXD_CMD_TSE    0x04 /* data: TCP segmentation */
#define E1000_TXD_CMD_RS     0x08
#define E1000_TXD_CMD_RPS    0x10
#define E1000_TXD_CMD_DEXT   0x20
#define E1000_TXD_CMD_VLE    0x40
#define E1000_TXD_CMD_IDE    0x80
#define E1000_TXD_STAT_DD    0x01
#define E1000_TXD_POPTS_IXSM 0x01
#define E1000_TXD_POPTS_TXSM 0x02
#define E1000_TXD_DTYP_CTX   0x0
#define E1000_TXD_DTYP_DATA  0x1
/* 3.4 context descriptor TUCMD */
#define E1000_TUCMD_TCP 0x01
#define E1000_TUCMD_IP	0x02
#define E1000_TUCMD_TSE 0x04

/* 8.2 PHY registers (M88E1011) and bits */
#define E1000_PHY_CTRL		  0x00
#define E1000_PHY_STATUS	  0x01
#define E1000_PHY_ID1		  0x02
#define E1000_PHY_ID2		  0x03
#define E1000_PHY_AUTONEG_ADV	  0x04
#define E1000_PHY_LP_ABILITY	  0x05
#define E1000_PHY_AUTONEG_EXP	  0x06
#define E1000_PHY_1000T_CTRL	  0x09
#define E1000_PHY_1000T_STATUS	  0x0a
#define E1000_PHY_EXT_STATUS	  0x0f
#define E1000_PHY_SPEC_CTRL	  0x10
#define E1000_PHY_SPEC_STATUS	  0x11
#define E1000_PHY_EXT_SPEC_CTRL	  0x14
#define E1000_PHY_REGS		  32
#define E1000_PHY_CTRL_RESTART_AN 0x0200
#define E1000_PHY_CTRL_RESET	  0x8000
#define E1000_PHY_STATUS_LINK	  0x0004
#define E1000_PHY_STATUS_AN_DONE  0x0020
#define E1000_PHY_SPEC_LINK	  0x0400
#define E1000_PHY_LPA_ACK	  0x4000

#endif
