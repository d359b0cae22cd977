/* SPDX-License-Identifier: MIT */
/*
 * AHCI 1.3.1 register, structure and FIS layouts, named as in the specification (Serial ATA
 * AHCI 1.3.1: 3.1 generic host control, 3.3 port registers, 4.2.1 received FIS structure,
 * 4.2.2 command list, 4.2.3 command table and PRDT; FIS layouts from SATA 3.x 10.3).
 */
#ifndef DEVICES_AHCI_REGS_H
#define DEVICES_AHCI_REGS_H

/* Generic host control (3.1). */
#define AHCI_CAP     0x00
#define AHCI_GHC     0x04
#define AHCI_IS	     0x08
#define AHCI_PI	     0x0c
#define AHCI_VS	     0x10
#define AHCI_CCC_CTL 0x14
#define AHCI_CCC_PTS 0x18
#define AHCI_EM_LOC  0x1c
#define AHCI_EM_CTL  0x20
#define AHCI_CAP2    0x24
#define AHCI_BOHC    0x28

#define AHCI_CAP_S64A	  (1u << 31)
#define AHCI_CAP_SNCQ	  (1u << 30)
#define AHCI_CAP_ISS_GEN2 (2u << 20)
#define AHCI_CAP_SAM	  (1u << 18)
#define AHCI_CAP_NCS(n)	  (((n)-1u) << 8)

#define AHCI_GHC_HR (1u << 0)
#define AHCI_GHC_IE (1u << 1)
#define AHCI_GHC_AE (1u << 31)

#define AHCI_VS_1_3_1 0x00010301u

/* Port registers (3.3), at 0x100 + port * 0x80. */
#define AHCI_PORT_BASE 0x100
#define AHCI_PORT_SIZE 0x80
#define AHCI_PxCLB     0x00
#define AHCI_PxCLBU    0x04
#define AHCI_PxFB      0x08
#define AHCI_PxFBU     0x0c
#define AHCI_PxIS      0x10
#define AHCI_PxIE      0x14
#define AHCI_PxCMD     0x18
#define AHCI_PxTFD     0x20
#define AHCI_PxSIG     0x24
#define AHCI_PxSSTS    0x28
#define AHCI_PxSCTL    0x2c
#define AHCI_PxSERR    0x30
#define AHCI_PxSACT    0x34
#define AHCI_PxCI      0x38
#define AHCI_PxSNTF    0x3c
#define AHCI_PxFBS     0x40

/* PxIS / PxIE (3.3.5, 3.3.6). */
#define AHCI_PxIS_DHRS (1u << 0)
#define AHCI_PxIS_PSS  (1u << 1)
#define AHCI_PxIS_DSS  (1u << 2)
#define AHCI_PxIS_SDBS (1u << 3)
#define AHCI_PxIS_UFS  (1u << 4)
#define AHCI_PxIS_DPS  (1u << 5)
#define AHCI_PxIS_PCS  (1u << 6)
#define AHCI_PxIS_OFS  (1u << 24)
#define AHCI_PxIS_HBDS (1u << 28)
#define AHCI_PxIS_HBFS (1u << 29)
#define AHCI_PxIS_TFES (1u << 30)
#define AHCI_PxIS_MASK 0xfdc000ffu
#define AHCI_PxIE_MASK 0xfdc000ffu

/* PxCMD (3.3.7). */
#define AHCI_PxCMD_ST	     (1u << 0)
#define AHCI_PxCMD_SUD	     (1u << 1)
#define AHCI_PxCMD_POD	     (1u << 2)
#define AHCI_PxCMD_CLO	     (1u << 3)
#define AHCI_PxCMD_FRE	     (1u << 4)
#define AHCI_PxCMD_CCS_SHIFT 8
#define AHCI_PxCMD_CCS_MASK  (0x1fu << 8)
#define AHCI_PxCMD_FR	     (1u << 14)
#define AHCI_PxCMD_CR	     (1u << 15)
#define AHCI_PxCMD_ICC_MASK  (0xfu << 28)

/* PxSSTS / PxSCTL (3.3.10, 3.3.11). */
#define AHCI_PxSSTS_PRESENT  0x123u /* DET 3 (device, PHY up), SPD Gen2, IPM active */
#define AHCI_PxSCTL_DET_MASK 0xfu
#define AHCI_PxSCTL_DET_INIT 0x1u
#define AHCI_PxSCTL_RW_MASK  0xfffu

/* Command header (4.2.2), 32 bytes per slot. */
#define AHCI_CMD_HDR_SIZE   32u
#define AHCI_CMD_CFL_MASK   0x1fu
#define AHCI_CMD_ATAPI	    (1u << 5)
#define AHCI_CMD_WRITE	    (1u << 6)
#define AHCI_CMD_PRDTL(dw0) ((dw0) >> 16)

/* Command table (4.2.3). */
#define AHCI_CT_CFIS	  0x00
#define AHCI_CT_ACMD	  0x40
#define AHCI_CT_PRDT	  0x80
#define AHCI_PRD_SIZE	  16u
#define AHCI_PRD_DBC_MASK 0x3fffffu
#define AHCI_CTBA_ALIGN	  128u

/* Received FIS area (4.2.1). */
#define AHCI_RFIS_DSFIS	 0x00
#define AHCI_RFIS_PSFIS	 0x20
#define AHCI_RFIS_RFIS	 0x40
#define AHCI_RFIS_SDBFIS 0x58
#define AHCI_RFIS_SIZE	 256u

/* FIS types (SATA 3.x 10.3). */
#define AHCI_FIS_REG_H2D   0x27
#define AHCI_FIS_REG_D2H   0x34
#define AHCI_FIS_PIO_SETUP 0x5f
#define AHCI_FIS_SDB	   0xa1
#define AHCI_FIS_H2D_C	   0x80 /* byte 1: command register update */
#define AHCI_FIS_I	   0x40 /* byte 1: interrupt */
#define AHCI_FIS_D	   0x20 /* PIO Setup byte 1: device to host */
#define AHCI_CTL_SRST	   0x04

#define AHCI_ABAR_SIZE 0x1000u

#endif
